# What a machine converged with quire::default (container method) must show.
# Plain describe blocks, as in the default suite, so serverspec can run them too.

describe user('quire') do
  it { should exist }
end

describe command('id -u quire') do
  its(:stdout) { should match(/\A10001\n?\z/) }
end

describe file('/etc/systemd/system/quire.service') do
  it { should be_file }
  its(:content) { should match(/@sha256:[0-9a-f]{64} quire worker$/) }
  its(:content) { should match(/--stop-signal SIGTERM/) }
end

describe file('/etc/quire/quire.env') do
  it { should be_file }
  it { should be_grouped_into 'quire' }
end

describe service('quire') do
  it { should be_enabled }
  it { should be_running }
end

describe command('systemctl show -p KillMode quire.service') do
  its(:stdout) { should match(/^KillMode=mixed$/) }
end
