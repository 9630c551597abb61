# ChefSpec (CI only: .github/workflows/cookbooks.yml runs `chef exec rspec`).
require 'chefspec'

RSpec.configure do |config|
  config.platform = 'debian'
  config.version = '12'
end

PACKAGE_ATTRS = {
  'quire' => {
    'package_url' => 'https://packages.example.org/quire_0.1.0-1_amd64.deb',
    'package_sha256' => 'a' * 64,
  },
}.freeze
