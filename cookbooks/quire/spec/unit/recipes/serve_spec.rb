require 'spec_helper'

describe 'quire::serve' do
  cached(:chef_run) do
    ChefSpec::SoloRunner.new do |node|
      node.normal.merge!(PACKAGE_ATTRS)
      node.normal['quire']['serve']['listen'] = '0.0.0.0:9188'
      node.normal['quire']['serve']['ui'] = true
    end.converge(described_recipe)
  end

  it 'passes the attributes to quire serve in a drop-in' do
    expect(chef_run).to render_file('/etc/systemd/system/quire-serve.service.d/50-quire-cookbook.conf')
      .with_content(%r{^ExecStart=/usr/bin/quire serve --listen 0\.0\.0\.0:9188 --rate 50 --max-upload 512 })
      .with_content(%r{ --tokens-file /etc/quire/serve-tokens --ui$})
  end

  it 'enables and starts quire-serve' do
    expect(chef_run).to enable_service('quire-serve')
    expect(chef_run).to start_service('quire-serve')
  end

  it 'restarts quire-serve when its options change' do
    dropin = chef_run.file('/etc/systemd/system/quire-serve.service.d/50-quire-cookbook.conf')
    expect(dropin).to notify('execute[restart quire-serve after a configuration change]').to(:run).delayed
  end

  it 'refuses to run without tokens' do
    expect do
      ChefSpec::SoloRunner.new do |node|
        node.normal.merge!(PACKAGE_ATTRS)
        node.normal['quire']['serve']['tokens_file'] = nil
      end.converge(described_recipe)
    end.to raise_error(/tokens_file or serve.tokens_ssm/)
  end
end
