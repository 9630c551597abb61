#
# Cookbook:: quire
# Recipe:: default
#
# A whole machine in one run: setup, configure, deploy. This is what
# AWS-ApplyChefRecipes runs on every instance of the fleet.
include_recipe 'quire::setup'
include_recipe 'quire::configure'
include_recipe 'quire::deploy'
