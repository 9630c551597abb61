# Pure Ruby helpers of the quire cookbook: what the recipes compute from the
# attributes (the environment file, the stop timeout, the container command
# line) and the checks that stop a converge with a clear message. No Chef
# API here, so the same file loads under chef-client, cinc-client and the
# itamae harness of the tests.
require 'shellwords'

module Quire
  module Helpers
    SHA256 = /\A[0-9a-f]{64}\z/
    PINNED_IMAGE = /\A[^\s@]+@sha256:[0-9a-f]{64}\z/
    SSM_NAME = %r{\A/?[A-Za-z0-9_.\-/]+\z}
    # The uid of the image's quire user: the container method makes the host's the same.
    CONTAINER_UID = 10_001

    module_function

    # Raises ArgumentError naming the attribute when the configuration cannot work.
    def validate!(q)
      method = q['install_method']
      unless %w(package container).include?(method)
        raise ArgumentError, "node['quire']['install_method'] is #{method.inspect}: 'package' or 'container'"
      end

      if method == 'package'
        url = q['package_url'].to_s
        raise ArgumentError, "node['quire']['package_url'] is required with the package method" if url.empty?
        unless q['package_sha256'].to_s.downcase.match?(SHA256)
          raise ArgumentError, "node['quire']['package_sha256'] must be the 64 hex digits of the .deb's SHA-256"
        end
      else
        unless q['image'].to_s.match?(PINNED_IMAGE)
          raise ArgumentError, "node['quire']['image'] must be pinned by digest " \
                               "(registry/quire@sha256:<64 hex>), got #{q['image'].inspect}"
        end
        unless %w(podman docker).include?(q['container_engine'])
          raise ArgumentError, "node['quire']['container_engine'] is #{q['container_engine'].inspect}: 'podman' or 'docker'"
        end
      end
      %w(key callback_secret).each do |s|
        file = q["#{s}_file"]
        ssm = q["#{s}_ssm"]
        ssm = nil if ssm.to_s.empty? # the stack passes "" for a parameter left empty
        raise ArgumentError, "node['quire']['#{s}_file'] and ['#{s}_ssm'] are both set: choose one" if file && ssm
        if ssm && !ssm.match?(SSM_NAME)
          raise ArgumentError, "node['quire']['#{s}_ssm'] #{ssm.inspect} is not an SSM parameter name"
        end
      end
      raise ArgumentError, "node['quire']['key_file'] or ['key_ssm'] is required" unless q['key_file'] || q['key_ssm']
      %w(drain_timeout term_timeout stop_margin slots nofile).each do |k|
        raise ArgumentError, "node['quire']['#{k}'] must be a positive integer" unless q[k].is_a?(Integer) && q[k].positive?
      end
      true
    end

    # systemd's stop timeout: the drain, the child's TERM grace and a margin.
    def stop_timeout(q)
      q['drain_timeout'] + q['term_timeout'] + q['stop_margin']
    end

    # The worker's environment, in a stable order: what /etc/quire/quire.env holds.
    def environment(q)
      env = {
        'QUIRE_REDIS' => q['redis_url'],
        'QUIRE_QUEUES' => Array(q['queues']).join(','),
        'QUIRE_STORE' => q['store'],
        'QUIRE_WORK_DIR' => q['work_dir'],
        'QUIRE_SOURCE_DIR' => q['source_dir'],
        'QUIRE_SLOTS' => q['slots'],
        'QUIRE_DRAIN_TIMEOUT' => q['drain_timeout'],
        'QUIRE_TERM_TIMEOUT' => q['term_timeout'],
        'QUIRE_ADMIN' => q['admin_listen'] || 'off',
        'QUIRE_LOG_FORMAT' => q['log_format'],
        'QUIRE_PROFILE' => q['profile'],
        'QUIRE_JOB_TIMEOUT' => q['job_timeout'],
        'QUIRE_MEMORY_LIMIT' => q['memory_limit_mb'],
        'QUIRE_KEY_FILE' => q['key_file'],
        'QUIRE_KEY_SSM' => q['key_ssm'],
        'QUIRE_CALLBACK_SECRET_FILE' => q['callback_secret_file'],
        'QUIRE_CALLBACK_SECRET_SSM' => q['callback_secret_ssm'],
      }
      (q['extra_env'] || {}).each do |k, v|
        unless k.to_s.match?(/\A(QUIRE|AWS)_[A-Z0-9_]+\z/)
          raise ArgumentError, "extra_env key #{k.inspect} is not a QUIRE_* or AWS_* variable"
        end
        env[k.to_s] = v
      end
      env.reject { |_, v| v.nil? || v.to_s.empty? }.transform_values do |v|
        s = v.to_s
        raise ArgumentError, "environment value #{s.inspect} holds a newline" if s.include?("\n")
        s.match?(/[\s"'\\$`]/) ? %("#{s.gsub(/["\\$`]/) { |c| "\\#{c}" }}") : s
      end
    end

    # Local directories the worker writes to (a store that is s3:// is not one).
    def writable_dirs(q)
      dirs = ['/var/lib/quire', q['work_dir'], q['source_dir']]
      dirs << q['store'] unless q['store'].to_s.start_with?('s3://')
      dirs.compact.uniq
    end

    # The Debian package file name in the download cache.
    def deb_path(q)
      "/var/cache/quire/quire_#{q['package_version']}.deb"
    end

    # Shell command: fetch the .deb, check its SHA-256, and only then put it in place.
    def download_command(q)
      deb = deb_path(q)
      part = "#{deb}.part"
      sha = q['package_sha256'].downcase
      "curl -fsSL --retry 5 --proto '=https,file' -o #{part.shellescape} #{q['package_url'].shellescape} && " \
        "echo #{"#{sha}  #{part}".shellescape} | sha256sum -c --quiet - && mv #{part.shellescape} #{deb.shellescape}"
    end

    # Shell test: the .deb is in the cache and has the expected SHA-256.
    def downloaded_test(q)
      "echo #{"#{q['package_sha256'].downcase}  #{deb_path(q)}".shellescape} | sha256sum -c --quiet - 2>/dev/null"
    end

    # Shell test: the wanted version of the package is installed.
    def installed_test(q)
      "test \"$(dpkg-query -W -f='${Version}' quire 2>/dev/null)\" = #{q['package_version'].to_s.shellescape}"
    end

    # The container engine's run command line for the unit (ExecStart).
    def container_command(q)
      engine = q['container_engine']
      args = [
        "/usr/bin/#{engine}", 'run', '--rm', '--name', 'quire', '--network', 'host',
        '--user', "#{CONTAINER_UID}:#{CONTAINER_UID}",
        '--env-file', '/etc/quire/quire.env',
        '--stop-signal', 'SIGTERM', '--stop-timeout', (q['drain_timeout'] + q['term_timeout'] + 10).to_s
      ]
      args += ['--init'] if engine == 'docker'
      args += ['--sdnotify=container'] if engine == 'podman'
      args += ['--health-cmd', 'quire health', '--health-interval', '30s'] if engine == 'podman'
      args += ['--memory', q['memory_max']] if q['memory_max']
      writable_dirs(q).each { |d| args += ['-v', "#{d}:#{d}:z"] }
      %w(key_file callback_secret_file).each do |f|
        args += ['-v', "#{q[f]}:#{q[f]}:ro"] if q[f]
      end
      args << q['image']
      args += %w(quire worker)
      args.map { |a| a.match?(%r{\A[A-Za-z0-9_@%+=:,./-]+\z}) ? a : %("#{a}") }.join(' ')
    end

    # The command that runs `quire ARGS` the way this install method does.
    # `quire fleet ready` with the worker's environment (QUIRE_FLEET, the group, the region).
    def fleet_ready_command(q)
      return 'quire fleet ready --env-file /etc/quire/quire.env' if q['install_method'] == 'package'

      "#{q['container_engine']} run --rm --network host --env-file /etc/quire/quire.env " \
        "#{q['image']} quire fleet ready"
    end

    def quire_command(q, args)
      return "quire #{args}" if q['install_method'] == 'package'

      "#{q['container_engine']} run --rm --network host #{q['image']} quire #{args}"
    end
  end
end
