# The test harness that runs this cookbook's recipes under itamae (Debian's
# Chef-like runner) where no Chef or Cinc client can be installed. The
# recipes stay plain Chef; this entry file supplies what Chef would:
#   - attributes/default.rb evaluated into the node under the -j JSON file's
#     values (which win, as role or environment attributes do in Chef);
#   - libraries/*.rb loaded;
#   - template sources looked up in templates/default/, as Chef does;
#   - include_recipe 'quire::setup' mapped to recipes/setup.rb.
# The run list is node['run_list'] (e.g. ["quire::default"]).
#   itamae local -j node.json test/itamae/converge.rb
cookbook = File.expand_path('../..', __dir__)

# Chef's attribute files: default['a']['b'] = v, on hashes that grow as they are indexed.
class QuireAttributeFile
  def initialize
    @default = Hash.new { |h, k| h[k] = Hash.new(&h.default_proc) }
  end

  attr_reader :default

  def load(path)
    instance_eval(File.read(path), path)
    plain(@default)
  end

  private

  def plain(h)
    h.each_with_object({}) { |(k, v), o| o[k.to_s] = v.is_a?(Hash) ? plain(v) : v }
  end
end

# Chef resolves template sources in the cookbook's templates/default/.
module QuireTemplateSource
  def find_source_file
    src = attributes.source
    if src.is_a?(String) && !src.include?('/')
      path = File.expand_path("../templates/default/#{src}", @recipe.dir)
      return path if File.exist?(path)
    end
    super
  end
end
Itamae::Resource::Template.prepend(QuireTemplateSource)

# Chef's include_recipe names recipes as cookbook::recipe.
module QuireIncludeRecipe
  def include_recipe(target)
    m = target.to_s.match(/\A(\w+)(?:::(\w+))?\z/)
    return super unless m

    dir = @recipe.path.include?('/recipes/') ? File.dirname(@recipe.path) : File.join(QUIRE_COOKBOOK, 'recipes')
    super(File.join(dir, "#{m[2] || 'default'}.rb"))
  end
end
QUIRE_COOKBOOK = cookbook
Itamae::Recipe::EvalContext.prepend(QuireIncludeRecipe)

Dir[File.join(cookbook, 'libraries', '*.rb')].sort.each { |f| require f }
node.reverse_merge!(QuireAttributeFile.new.load(File.join(cookbook, 'attributes', 'default.rb')))

Array(node['run_list']).each { |r| include_recipe r }
