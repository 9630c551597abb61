# libraries/helpers.rb without Chef: the checks that stop a converge, the
# environment file, the stop timeout and the container command line.
#   ruby test/unit/helpers_test.rb
require 'json'
require 'minitest/autorun'
require_relative '../../libraries/helpers'

class QuireHelpersTest < Minitest::Test
  def attrs(extra = {})
    base = {
      'install_method' => 'package', 'package_url' => 'https://p.example.org/q.deb',
      'package_sha256' => 'a' * 64, 'package_version' => '0.1.0-1', 'image' => nil,
      'container_engine' => 'podman', 'redis_url' => 'redis://r:6379/0', 'queues' => %w(books urgent),
      'slots' => 2, 'store' => '/var/lib/quire/store', 'work_dir' => '/var/lib/quire/work',
      'source_dir' => '/var/lib/quire/sources', 'admin_listen' => '127.0.0.1:9187', 'log_format' => 'json',
      'key_file' => '/etc/quire/service.key', 'key_ssm' => nil, 'callback_secret_file' => nil,
      'callback_secret_ssm' => nil, 'drain_timeout' => 3600, 'term_timeout' => 10, 'stop_margin' => 90,
      'memory_max' => nil, 'nofile' => 65_536, 'extra_env' => {}
    }
    base.merge(extra)
  end

  # The attributes the fleet stack's association hands the cookbook (autoscale/quire-fleet.yaml,
  # JsonAttributesContent) pass its checks and give the worker its fleet environment.
  def test_fleet_stack_attributes
    template = File.read(File.expand_path('../../../../autoscale/quire-fleet.yaml', __dir__))
    block = template[/JsonAttributesContent:\n\s+- !Sub\n\s+- \|\n(.*?)\n\s+- Store:/m, 1]
    refute_nil block, 'no JsonAttributesContent block in the template'
    values = { 'AWS::Region' => 'eu-west-1', 'AWS::StackName' => 'quire-fleet', 'Slots' => '1',
               'JobTimeout' => '3600', 'Store' => 's3://b/p', 'CallbackSecretParameter' => '',
               'InstallMethod' => 'package', 'QuirePackageUrl' => 'https://p.example.org/q.deb' }
    json = block.gsub(/\$\{([^}]+)\}/) { values.fetch(Regexp.last_match(1), "/x/#{Regexp.last_match(1)}") }
    given = JSON.parse(json)['quire']
    q = attrs('key_file' => nil, 'package_sha256' => 'b' * 64).merge(given)
    q['package_sha256'] = 'b' * 64
    assert Quire::Helpers.validate!(q)
    env = Quire::Helpers.environment(q)
    assert_equal 'on', env['QUIRE_FLEET']
    assert_equal 'quire-fleet-workers', env['QUIRE_FLEET_GROUP']
    assert_equal '/x/KeyParameter', env['QUIRE_KEY_SSM']
    assert_equal '/x/RedisUrlParameter', env['QUIRE_REDIS_SSM']
    refute env.key?('QUIRE_CALLBACK_SECRET_SSM'), 'an empty callback secret parameter is no setting'
  end

  def test_valid_package_configuration
    assert Quire::Helpers.validate!(attrs)
  end

  def test_refusals_name_the_attribute
    {
      { 'package_sha256' => 'abc' } => /package_sha256/,
      { 'package_url' => nil } => /package_url/,
      { 'install_method' => 'rpm' } => /install_method/,
      { 'install_method' => 'container', 'image' => 'quire:latest' } => /pinned by digest/,
      { 'key_ssm' => '/quire/key' } => /choose one/,
      { 'key_file' => nil } => /key_file/,
      { 'drain_timeout' => 0 } => /drain_timeout/,
    }.each do |change, message|
      error = assert_raises(ArgumentError) { Quire::Helpers.validate!(attrs(change)) }
      assert_match message, error.message
    end
  end

  def test_environment_has_paths_and_names_never_secrets
    env = Quire::Helpers.environment(attrs('extra_env' => { 'QUIRE_PUBLIC_URL' => 'https://cdn/x y' }))
    assert_equal 'books,urgent', env['QUIRE_QUEUES']
    assert_equal '3600', env['QUIRE_DRAIN_TIMEOUT']
    assert_equal '/etc/quire/service.key', env['QUIRE_KEY_FILE']
    assert_equal '"https://cdn/x y"', env['QUIRE_PUBLIC_URL']
    refute env.key?('QUIRE_KEY_SSM')
    assert_raises(ArgumentError) { Quire::Helpers.environment(attrs('extra_env' => { 'PATH' => '/x' })) }
    assert_raises(ArgumentError) { Quire::Helpers.environment(attrs('redis_url' => "redis://a\nQUIRE_X=1")) }
  end

  def test_stop_timeout_is_drain_plus_grace_plus_margin
    assert_equal 3700, Quire::Helpers.stop_timeout(attrs)
    assert_equal 220, Quire::Helpers.stop_timeout(attrs('drain_timeout' => 120))
  end

  def test_download_checks_the_sha256_before_the_file_is_used
    cmd = Quire::Helpers.download_command(attrs)
    assert_match(/curl -fsSL .*sha256sum -c --quiet - && mv /, cmd)
    assert_includes cmd, 'a' * 64
  end

  def test_container_command
    image = "registry.example.org/quire@sha256:#{'b' * 64}"
    cmd = Quire::Helpers.container_command(attrs('install_method' => 'container', 'image' => image,
                                                 'store' => 's3://books/out'))
    assert_match(/--stop-signal SIGTERM --stop-timeout 3620/, cmd)
    assert_includes cmd, '--sdnotify=container'
    assert_includes cmd, '--user 10001:10001'
    assert_includes cmd, '-v /etc/quire/service.key:/etc/quire/service.key:ro'
    refute_includes cmd, 's3://'
    assert cmd.end_with?("#{image} quire worker")
  end
end
