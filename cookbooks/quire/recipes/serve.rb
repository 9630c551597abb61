#
# Cookbook:: quire
# Recipe:: serve
#
# The HTTP intake (quire serve) beside the worker: the package's
# quire-serve.service with a drop-in carrying the options from the
# attributes, enabled and started. Run after quire::setup and
# quire::configure (it reads the same /etc/quire/quire.env: Redis, store).
# The package install method only: the container image runs serve with
# `serve ...` as its command (docs/operations/serve.md).
q = node['quire']
Quire::Helpers.validate!(q)
s = q['serve']
raise 'quire::serve needs the package install method' unless q['install_method'] == 'package'
raise 'quire::serve needs serve.tokens_file or serve.tokens_ssm' unless s['tokens_file'] || s['tokens_ssm']
raise "quire::serve: serve.listen '#{s['listen']}' is not IPV4:PORT" unless s['listen'].to_s =~ /\A\d+\.\d+\.\d+\.\d+:\d+\z/

args = ['/usr/bin/quire', 'serve', '--listen', s['listen'], '--rate', s['rate'].to_i.to_s,
        '--max-upload', s['max_upload_mb'].to_i.to_s]
args += ['--tokens-file', s['tokens_file']] if s['tokens_file']
args += ['--tokens-ssm', s['tokens_ssm']] if s['tokens_ssm']
args += ['--hmac-secret-ssm', s['hmac_secret_ssm']] if s['hmac_secret_ssm']
args << '--ui' if s['ui']
args.each { |a| raise "quire::serve: option '#{a}' has a space or a quote" if a =~ /[\s"'\\]/ }

execute 'reload systemd units for quire-serve' do
  command 'systemctl daemon-reload'
  action :nothing
end

execute 'restart quire-serve after a configuration change' do
  command 'systemctl try-restart quire-serve.service'
  action :nothing
end

directory '/etc/systemd/system/quire-serve.service.d' do
  owner 'root'
  group 'root'
  mode '0755'
end

file '/etc/systemd/system/quire-serve.service.d/50-quire-cookbook.conf' do
  content "# Written by the quire cookbook (quire::serve).\n[Service]\nExecStart=\nExecStart=#{args.join(' ')}\n"
  owner 'root'
  group 'root'
  mode '0644'
  notifies :run, 'execute[reload systemd units for quire-serve]', :immediately
  notifies :run, 'execute[restart quire-serve after a configuration change]', :delayed
end

service 'quire-serve' do
  action [:enable, :start]
end
