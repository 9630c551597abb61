# What a machine converged with quire::default (package method) must show.
# The same file runs under InSpec (Test Kitchen, CI) and under serverspec
# (tests/integration/test_cookbook_converge.sh): plain describe blocks with
# the matchers both share, no InSpec-only control wrappers.

describe user('quire') do
  it { should exist }
end

describe file('/usr/bin/quire') do
  it { should be_file }
  it { should be_executable }
end

describe command('runuser -u quire -- quire version --check') do
  its(:exit_status) { should eq 0 }
end

describe file('/etc/quire/quire.env') do
  it { should be_file }
  it { should be_owned_by 'root' }
  it { should be_grouped_into 'quire' }
end

describe command('stat -c %a /etc/quire/quire.env') do
  its(:stdout) { should match(/\A640\n?\z/) }
end

# No secret in clear: the key is a file the worker reads, not a value.
describe command('grep -cE "^QUIRE_(CALLBACK_SECRET|KEY)=" /etc/quire/quire.env') do
  its(:stdout) { should match(/\A0\n?\z/) }
end

describe file('/etc/quire/quire.env') do
  its(:content) { should match(/^QUIRE_DRAIN_TIMEOUT=\d+$/) }
  its(:content) { should match(%r{^QUIRE_KEY_FILE=/}) }
end

describe file('/var/lib/quire/store') do
  it { should be_directory }
  it { should be_owned_by 'quire' }
end

describe service('quire') do
  it { should be_enabled }
  it { should be_running }
end

describe command('systemctl show -p Type -p KillMode -p KillSignal -p NotifyAccess quire.service') do
  its(:stdout) { should match(/^Type=notify$/) }
  its(:stdout) { should match(/^KillMode=mixed$/) }
  its(:stdout) { should match(/^KillSignal=15$/) }
  its(:stdout) { should match(/^NotifyAccess=main$/) }
end

# drain_timeout 3600 + term_timeout 10 + stop_margin 90 = 3700 s, from the cookbook's drop-in.
describe command('systemctl show -p TimeoutStopUSec quire.service') do
  its(:stdout) { should match(/^TimeoutStopUSec=1h 1min 40s$/) }
end

# The worker told systemd it is ready and what it is doing.
describe command('systemctl show -p StatusText quire.service') do
  its(:stdout) { should match(/^StatusText=.+/) }
end
