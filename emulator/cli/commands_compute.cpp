#include "amlemu/compute.hpp"
#include "cli/cli.hpp"

namespace amlemu::cli {

void add_compute_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("compute", "Compute targets (AmlCompute clusters)");
  group->require_subcommand(1);

  auto* create = group->add_subcommand("create", "Create an AmlCompute cluster");
  static std::string name, size, priority = "dedicated";
  static int min_nodes = 0, idle = 1800;
  static std::optional<int> max_nodes;
  create->add_option("--name,-n", name, "Cluster name")->required();
  create->add_option("--size", size, "VM size, e.g. STANDARD_NC6 (default Standard_NC6)");
  create->add_option("--max-instances", max_nodes, "Maximum number of nodes")->required();
  create->add_option("--min-instances", min_nodes, "Minimum number of nodes (default 0)");
  create->add_option("--idle-time-before-scale-down", idle,
                     "Seconds a node stays idle before it is released (default 1800)");
  create->add_option("--tier", priority, "dedicated or lowpriority");
  add_output_option(create, ctx);
  create->callback([&ctx] {
    const auto config =
        AmlCompute::provisioning_configuration(size, priority, min_nodes, max_nodes, idle);
    const auto target = ComputeTarget::create(ctx.workspace(), name, config);
    print_json(target.serialize());
  });

  auto* show = group->add_subcommand("show", "Show a compute target and its node counts");
  static std::string show_name;
  show->add_option("--name,-n", show_name, "Cluster name")->required();
  add_output_option(show, ctx);
  show->callback([&ctx] { print_json(ComputeTarget(ctx.workspace(), show_name).serialize()); });

  auto* list = group->add_subcommand("list", "List compute targets");
  add_output_option(list, ctx);
  list->callback([&ctx] {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& t : ComputeTarget::list(ctx.workspace())) rows.push_back(t.serialize());
    print_rows(ctx, rows, {"name", "type", "vmSize", "provisioningState"});
  });

  auto* del = group->add_subcommand("delete", "Delete a compute target");
  static std::string del_name;
  del->add_option("--name,-n", del_name, "Cluster name")->required();
  del->callback([&ctx] { ComputeTarget(ctx.workspace(), del_name).delete_target(); });

  auto* preempt = group->add_subcommand("preempt", "Take a lowpriority node away (its run fails)");
  static std::string preempt_name, node;
  preempt->add_option("--name,-n", preempt_name, "Cluster name")->required();
  preempt->add_option("--node", node, "Node index or node id")->required();
  preempt->callback([&ctx] { ComputeTarget(ctx.workspace(), preempt_name).preempt(node); });

  auto* nodes = group->add_subcommand("list-nodes", "List a cluster's nodes and their states");
  static std::string nodes_name;
  nodes->add_option("--name,-n", nodes_name, "Cluster name")->required();
  add_output_option(nodes, ctx);
  nodes->callback([&ctx] {
    print_rows(ctx, ComputeTarget(ctx.workspace(), nodes_name).list_nodes(),
               {"index", "nodeId", "privateIpAddress", "state", "runId"});
  });

  auto* sizes = group->add_subcommand("list-sizes", "List the VM sizes of the catalog");
  add_output_option(sizes, ctx);
  sizes->callback([&ctx] {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& s : supported_vm_sizes()) {
      rows.push_back({{"name", s.name}, {"vCPUs", s.vcpus}, {"memoryGB", s.memory_gb},
                      {"gpus", s.gpus}, {"gpuType", s.gpu_type}});
    }
    print_rows(ctx, rows, {"name", "vCPUs", "memoryGB", "gpus", "gpuType"});
  });
}

void add_gpu_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("gpu", "The machine's GPUs, as nodes get them");
  group->require_subcommand(1);
  auto* list = group->add_subcommand("list", "List the GPUs found through NVML");
  add_output_option(list, ctx);
  list->callback([] { print_json(describe_machine_gpus()); });
}

}  // namespace amlemu::cli
