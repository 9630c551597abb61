# serverspec on the converged machine itself, with the assertions of the
# InSpec profile (test/integration/<suite>/controls/quire_spec.rb).
#   QUIRE_SUITE=default rspec test/serverspec/quire_spec.rb
require 'serverspec'

set :backend, :exec
suite = ENV.fetch('QUIRE_SUITE', 'default')
load File.expand_path("../integration/#{suite}/controls/quire_spec.rb", __dir__)
