#
# Cookbook:: quire
# Recipe:: undeploy
#
# OpsWorks' undeploy event: the worker stops (draining) and stays off. The
# package, the user, the configuration and the data stay.
execute 'reload systemd units' do
  command 'systemctl daemon-reload'
  action :nothing
end

service 'quire' do
  action [:stop, :disable]
end

%w(
  /etc/systemd/system/quire.service
  /etc/systemd/system/quire.service.d/50-quire-cookbook.conf
  /etc/systemd/system/quire.service.d/60-quire-restart-backoff.conf
).each do |unit|
  file unit do
    action :delete
    notifies :run, 'execute[reload systemd units]', :delayed
  end
end
