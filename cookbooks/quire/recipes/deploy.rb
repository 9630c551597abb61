#
# Cookbook:: quire
# Recipe:: deploy
#
# OpsWorks' deploy event: the version setup put in place runs. For the
# container method the unit that runs the image is written here. The new
# binary must answer `quire version --check` (every library at least
# quire's minimum) before the service runs; last, `quire fleet ready`
# releases the Auto Scaling launch hook where there is one.
q = node['quire']
Quire::Helpers.validate!(q)

execute 'reload systemd units' do
  command 'systemctl daemon-reload'
  action :nothing
end

execute 'restart quire after a new unit' do
  command 'systemctl try-restart quire.service'
  action :nothing
end

if q['install_method'] == 'container'
  template '/etc/systemd/system/quire.service' do
    source 'quire-container.service.erb'
    owner 'root'
    group 'root'
    mode '0644'
    variables(
      command: Quire::Helpers.container_command(q),
      engine: q['container_engine'],
      stop_timeout: Quire::Helpers.stop_timeout(q)
    )
    notifies :run, 'execute[reload systemd units]', :immediately
    notifies :run, 'execute[restart quire after a new unit]', :delayed
  end
end

# Runs (and fails the converge, naming the library) only when the check fails.
version_check = Quire::Helpers.quire_command(q, 'version --check')
execute 'quire version --check' do
  command version_check
  not_if "#{version_check} >/dev/null 2>&1"
end

service 'quire' do
  action [:enable, :start]
end

# The instance is ready for the Auto Scaling group: once per machine, where quire knows the command.
fleet_ready = Quire::Helpers.fleet_ready_command(q)
execute 'quire fleet ready' do
  command "#{fleet_ready} && touch /var/lib/quire/.fleet-ready"
  only_if "#{Quire::Helpers.quire_command(q, 'fleet --help')} >/dev/null 2>&1"
  not_if 'test -e /var/lib/quire/.fleet-ready'
end
