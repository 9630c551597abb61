require 'spec_helper'

describe 'quire::deploy' do
  cached(:chef_run) do
    ChefSpec::SoloRunner.new { |node| node.normal.merge!(PACKAGE_ATTRS) }.converge(described_recipe)
  end

  before do
    stub_command('quire version --check >/dev/null 2>&1').and_return(true)
    stub_command('quire fleet --help >/dev/null 2>&1').and_return(false)
    stub_command('test -e /var/lib/quire/.fleet-ready').and_return(false)
  end

  it 'enables and starts the service' do
    expect(chef_run).to enable_service('quire')
    expect(chef_run).to start_service('quire')
  end

  it 'checks the libraries only when the check would fail' do
    expect(chef_run).not_to run_execute('quire version --check')
  end
end

describe 'quire::shutdown' do
  cached(:chef_run) { ChefSpec::SoloRunner.new.converge(described_recipe) }

  before { stub_command('systemctl is-active --quiet quire.service').and_return(true) }

  it 'stops the service, which drains' do
    expect(chef_run).to run_execute('drain and stop quire').with(command: 'systemctl stop quire.service')
  end
end
