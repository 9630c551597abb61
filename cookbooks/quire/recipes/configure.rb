#
# Cookbook:: quire
# Recipe:: configure
#
# OpsWorks' configure event: /etc/quire/quire.env from the attributes (no
# secret in it: files on the machine or SSM parameter names), and the unit's
# drop-in with the stop timeout and the limits. A change restarts the
# worker, which drains first.
q = node['quire']
Quire::Helpers.validate!(q)

execute 'reload systemd units' do
  command 'systemctl daemon-reload'
  action :nothing
end

execute 'restart quire after a configuration change' do
  command 'systemctl try-restart quire.service'
  action :nothing
end

directory '/etc/quire' do
  owner 'root'
  group 'quire'
  mode '0750'
end

template '/etc/quire/quire.env' do
  source 'quire.env.erb'
  owner 'root'
  group 'quire'
  mode '0640'
  variables(env: Quire::Helpers.environment(q))
  notifies :run, 'execute[restart quire after a configuration change]', :delayed
end

directory '/etc/systemd/system/quire.service.d' do
  owner 'root'
  group 'root'
  mode '0755'
end

template '/etc/systemd/system/quire.service.d/50-quire-cookbook.conf' do
  source 'quire-dropin.conf.erb'
  owner 'root'
  group 'root'
  mode '0644'
  variables(
    stop_timeout: Quire::Helpers.stop_timeout(q),
    nofile: q['nofile'],
    memory_max: q['memory_max'],
    writable: Quire::Helpers.writable_dirs(q)
  )
  notifies :run, 'execute[reload systemd units]', :immediately
  notifies :run, 'execute[restart quire after a configuration change]', :delayed
end

# Restarts back off (10 s doubling to 5 min) where systemd can (254 and later).
file '/etc/systemd/system/quire.service.d/60-quire-restart-backoff.conf' do
  content "# Written by the quire cookbook.\n[Service]\nRestartSteps=5\nRestartMaxDelaySec=5min\n"
  owner 'root'
  group 'root'
  mode '0644'
  only_if 'test "$(systemctl --version | sed -n "1s/^systemd \\([0-9]*\\).*/\\1/p")" -ge 254'
  notifies :run, 'execute[reload systemd units]', :immediately
end
