name 'quire'
maintainer 'quire developers'
maintainer_email 'quire-dev@lists.example.org'
license 'All Rights Reserved'
description 'Installs, configures and runs the quire book worker (package or container)'
version '0.1.0'
chef_version '>= 18'
source_url 'https://github.com/quire-books/quire'
issues_url 'https://github.com/quire-books/quire/issues'

# Debian 12 and 13 take either install method; the others run the container.
supports 'debian', '>= 12.0'
supports 'ubuntu', '>= 24.04'
supports 'amazon', '>= 2023.0'
