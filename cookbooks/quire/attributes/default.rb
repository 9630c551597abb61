# quire's attributes. Secrets never go here in clear: name a file already on
# the machine (0600, owned by quire) or an SSM Parameter Store SecureString
# the worker reads itself at start (docs/operations/chef.md).

# 'package' (Debian 12/13: the quire .deb) or 'container' (the quire image,
# pinned by digest, run by podman or docker).
default['quire']['install_method'] = 'package'

# package: the .deb's https URL (a presigned one for S3), its sha256 and the
# Debian version it holds. The converge fails when the sha256 does not match.
default['quire']['package_url'] = nil
default['quire']['package_sha256'] = nil
default['quire']['package_version'] = '0.1.0-1'

# container: the image pinned by digest ("registry/quire@sha256:<64 hex>")
# and the engine that runs it.
default['quire']['image'] = nil
default['quire']['container_engine'] = 'podman'

# The oldest libraries the package works with (cmake/QrDeps.cmake):
# `package` stops the converge on a platform that offers older ones.
default['quire']['min_versions'] = { 'libvips' => '8.14', 'qpdf' => '11.3' }

# The worker.
default['quire']['redis_url'] = 'redis://127.0.0.1:6379/0'
default['quire']['queues'] = %w(books)
default['quire']['slots'] = 1
default['quire']['store'] = '/var/lib/quire/store'
default['quire']['work_dir'] = '/var/lib/quire/work'
default['quire']['source_dir'] = '/var/lib/quire/sources'
default['quire']['profile'] = nil
default['quire']['job_timeout'] = nil
default['quire']['memory_limit_mb'] = nil
default['quire']['admin_listen'] = '127.0.0.1:9187'
default['quire']['log_format'] = 'json'

# Secrets: a path on the machine, or an SSM parameter name (not both).
default['quire']['key_file'] = '/etc/quire/service.key'
default['quire']['key_ssm'] = nil
default['quire']['callback_secret_file'] = nil
default['quire']['callback_secret_ssm'] = nil

# Stopping: a stop drains (no new job; the job in hand finishes or, at
# drain_timeout, goes back to the head of its queue). systemd's stop timeout
# is drain_timeout + term_timeout + stop_margin.
default['quire']['drain_timeout'] = 3600
default['quire']['term_timeout'] = 10
default['quire']['stop_margin'] = 90

# Limits of the whole service (systemd): MemoryMax ("6G", nil: none) and
# open files.
default['quire']['memory_max'] = nil
default['quire']['nofile'] = 65536

# Any other QUIRE_* variable, e.g. { 'QUIRE_S3_PART_SIZE' => '16777216' }.
default['quire']['extra_env'] = {}

# quire::serve, the HTTP intake (docs/operations/serve.md): the quire-serve
# unit of the package. Bearer tokens come from a file already on the machine
# (0640 root:quire or 0600 quire) or an SSM SecureString, never from here.
default['quire']['serve']['listen'] = '127.0.0.1:9188'
default['quire']['serve']['tokens_file'] = '/etc/quire/serve-tokens'
default['quire']['serve']['tokens_ssm'] = nil
default['quire']['serve']['hmac_secret_ssm'] = nil
default['quire']['serve']['ui'] = false
default['quire']['serve']['rate'] = 50
default['quire']['serve']['max_upload_mb'] = 512
