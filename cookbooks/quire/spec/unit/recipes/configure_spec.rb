require 'spec_helper'

describe 'quire::configure' do
  cached(:chef_run) do
    ChefSpec::SoloRunner.new do |node|
      node.normal.merge!(PACKAGE_ATTRS)
      node.normal['quire']['drain_timeout'] = 1800
      node.normal['quire']['memory_max'] = '6G'
    end.converge(described_recipe)
  end

  it 'writes the environment file without secrets, readable by quire only' do
    expect(chef_run).to create_template('/etc/quire/quire.env').with(owner: 'root', group: 'quire', mode: '0640')
    expect(chef_run).to render_file('/etc/quire/quire.env').with_content(/^QUIRE_DRAIN_TIMEOUT=1800$/)
    expect(chef_run).not_to render_file('/etc/quire/quire.env').with_content(/SECRET=/)
  end

  it 'sizes the stop timeout to the drain and sets the limits' do
    expect(chef_run).to render_file('/etc/systemd/system/quire.service.d/50-quire-cookbook.conf')
      .with_content(/^TimeoutStopSec=1900$/).with_content(/^MemoryMax=6G$/)
  end

  it 'restarts the worker (a drain) when the configuration changes' do
    template = chef_run.template('/etc/quire/quire.env')
    expect(template).to notify('execute[restart quire after a configuration change]').to(:run).delayed
  end
end
