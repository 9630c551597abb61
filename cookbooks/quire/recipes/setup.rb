#
# Cookbook:: quire
# Recipe:: setup
#
# OpsWorks' setup event: the machine. The quire user and its directories,
# then quire itself by the install method: the Debian package (downloaded,
# checked against its SHA-256, installed with apt resolving its
# dependencies) or the container image (pinned by digest).
q = node['quire']
Quire::Helpers.validate!(q)
container = q['install_method'] == 'container'
uid_opt = container ? "--uid #{Quire::Helpers::CONTAINER_UID} " : ''
gid_opt = container ? "--gid #{Quire::Helpers::CONTAINER_UID} " : ''

execute 'create the quire group' do
  command "groupadd --system #{gid_opt}quire"
  not_if 'getent group quire'
end

execute 'create the quire user' do
  command "useradd --system #{uid_opt}--gid quire --home-dir /var/lib/quire --no-create-home " \
          '--shell /usr/sbin/nologin --comment "quire worker" quire'
  not_if 'getent passwd quire'
end

directory '/etc/quire' do
  owner 'root'
  group 'quire'
  mode '0750'
end

Quire::Helpers.writable_dirs(q).each do |dir|
  directory dir do
    owner 'quire'
    group 'quire'
    mode '0750'
  end
end

# A stop drains: the worker finishes or requeues the job in hand first.
execute 'restart quire after an upgrade' do
  command 'systemctl try-restart quire.service'
  action :nothing
end

if container
  package q['container_engine']

  exists = q['container_engine'] == 'podman' ? 'image exists' : 'image inspect'
  execute "pull #{q['image']}" do
    command "#{q['container_engine']} pull #{q['image']}"
    not_if "#{q['container_engine']} #{exists} #{q['image']} >/dev/null 2>&1"
    notifies :run, 'execute[restart quire after an upgrade]', :delayed
  end
else
  directory '/var/cache/quire' do
    owner 'root'
    group 'root'
    mode '0755'
  end

  template '/usr/local/sbin/quire-platform-check' do
    source 'quire-platform-check.erb'
    owner 'root'
    group 'root'
    mode '0755'
    variables(min: q['min_versions'], version: q['package_version'])
  end

  # The package's own Depends would refuse an old platform too; this says why and what to do.
  execute 'apt-get update' do
    command 'apt-get update -qq'
    not_if "find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mmin -1440 | grep -q ."
  end

  execute 'check that this platform offers the libraries quire needs' do
    command '/usr/local/sbin/quire-platform-check'
    not_if Quire::Helpers.installed_test(q)
  end

  execute "download quire #{q['package_version']}" do
    command Quire::Helpers.download_command(q)
    not_if Quire::Helpers.downloaded_test(q)
  end

  execute "install quire #{q['package_version']}" do
    command "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends #{Quire::Helpers.deb_path(q)}"
    not_if Quire::Helpers.installed_test(q)
    notifies :run, 'execute[restart quire after an upgrade]', :delayed
  end
end
