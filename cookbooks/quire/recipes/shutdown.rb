#
# Cookbook:: quire
# Recipe:: shutdown
#
# OpsWorks' shutdown event, for machines stopped by hand or outside an Auto
# Scaling group: stop the service, which is the drain (the job in hand
# finishes, or goes back to the head of its queue at the drain timeout).
# Inside a group the worker handles the terminating lifecycle hook itself.
execute 'drain and stop quire' do
  command 'systemctl stop quire.service'
  only_if 'systemctl is-active --quiet quire.service'
end
