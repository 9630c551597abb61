require 'spec_helper'

describe 'quire::setup' do
  context 'with the package method' do
    cached(:chef_run) do
      ChefSpec::SoloRunner.new { |node| node.normal.merge!(PACKAGE_ATTRS) }.converge(described_recipe)
    end

    it 'creates the user and its directories' do
      expect(chef_run).to run_execute('create the quire user')
      expect(chef_run).to create_directory('/var/lib/quire/store').with(owner: 'quire', mode: '0750')
    end

    it 'checks the platform, downloads with the checksum, then installs' do
      expect(chef_run).to run_execute('check that this platform offers the libraries quire needs')
      expect(chef_run).to run_execute('download quire 0.1.0-1')
        .with(command: /sha256sum -c --quiet/)
      expect(chef_run).to run_execute('install quire 0.1.0-1')
    end
  end

  context 'with the container method' do
    cached(:chef_run) do
      ChefSpec::SoloRunner.new do |node|
        node.normal['quire']['install_method'] = 'container'
        node.normal['quire']['image'] = "registry.example.org/quire@sha256:#{'b' * 64}"
      end.converge(described_recipe)
    end

    it 'installs podman and pulls the pinned image' do
      expect(chef_run).to install_package('podman')
      expect(chef_run).to run_execute(/\Apull registry.example.org/)
    end
  end

  context 'with an image that is not pinned by digest' do
    it 'fails the converge naming the attribute' do
      runner = ChefSpec::SoloRunner.new do |node|
        node.normal['quire']['install_method'] = 'container'
        node.normal['quire']['image'] = 'registry.example.org/quire:latest'
      end
      expect { runner.converge(described_recipe) }.to raise_error(ArgumentError, /pinned by digest/)
    end
  end
end
