// The Azure ML "train and register a TensorFlow model" walkthrough, step by step, in C++.
//
//   walkthrough CONFIG_JSON SAMPLE_JOBS_DIR DATA_DIR DOWNLOAD_DIR [EPOCHS]
//
// Each step names the SDK call it stands for. At the end the downloaded model is loaded and
// scored on the test images.
#include <cstdlib>
#include <iostream>

#include "amlemu/amlemu.hpp"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: walkthrough CONFIG_JSON SAMPLE_JOBS_DIR DATA_DIR DOWNLOAD_DIR [EPOCHS]\n";
    return 2;
  }
  const std::filesystem::path config = argv[1], samples = argv[2], data = argv[3],
                              download = argv[4];
  try {
    using namespace amlemu;
    // ws = Workspace.from_config()  (created on first use here)
    const auto cfg = find_workspace_config(config);
    const auto ws = Workspace::create(cfg.workspace_name, cfg.subscription_id, cfg.resource_group);
    std::cout << "Workspace: " << ws.name() << " (" << ws.state_dir().string() << ")\n";

    // exp = Experiment(workspace=ws, name='tf-mnist')
    const Experiment exp(ws, "tf-mnist");

    // ds = ws.get_default_datastore(); ds.upload(src_dir=..., target_path='mnist', ...)
    const auto ds = Datastore::get_default(ws);
    ds.upload(data, "mnist", /*overwrite=*/true, /*show_progress=*/true);

    // compute_target = ComputeTarget(ws, 'gpucluster'), created when missing
    try {
      ComputeTarget target(ws, "gpucluster");
      std::cout << "Found existing compute target\n";
    } catch (const ComputeTargetException&) {
      std::cout << "Creating a new compute target...\n";
      const auto config = AmlCompute::provisioning_configuration("STANDARD_NC6", "dedicated", 0, 4);
      ComputeTarget::create(ws, "gpucluster", config).wait_for_completion(true);
    }

    // est = Estimator(source_directory=..., script_params=..., compute_target=..., ...)
    // (a plain Estimator: TensorFlow(framework_version=...) would ask the environment for that
    // exact tensorflow release; here the interpreter's own TensorFlow serves)
    Estimator est;
    est.source_directory = samples / "tf-mnist";
    est.entry_script = "tf_mnist.py";
    est.script_params = {{"--data-folder", ds.path("mnist").as_mount()},
                         {"--batch-size", 50},
                         {"--first-layer-neurons", 300},
                         {"--second-layer-neurons", 100},
                         {"--learning-rate", 0.01}};
    if (argc > 5) est.script_params.emplace_back("--epochs", std::stoi(argv[5]));
    est.compute_target = "gpucluster";
    est.use_gpu = true;

    // run = exp.submit(est); run.wait_for_completion(show_output=True)
    est.pip_packages = {"numpy"};
    const Run run = exp.submit(est);
    run.wait_for_completion(/*show_output=*/true);

    // run.get_metrics(), run.get_file_names()
    std::cout << "Metrics: " << run.get_metrics().dump() << "\n";
    for (const auto& f : run.get_file_names()) std::cout << "File: " << f << "\n";

    // model = run.register_model(model_name='tf-dnn-mnist', model_path='outputs/model')
    const Model model = run.register_model("tf-dnn-mnist", "outputs/model");
    std::cout << "Registered " << model.name() << " id " << model.id() << " version "
              << model.version() << "\n";

    // model.download(target_dir=..., exist_ok=True)
    std::cout << "Downloaded to " << model.download(download, true).string() << "\n";

    // Load the downloaded SavedModel and score it on the test images (TensorFlow, in Python).
    const char* python = std::getenv("AMLEMU_PYTHON");
    const std::string command = std::string(python && *python ? python : "python3") + " '" +
                                (samples / "tf-mnist" / "load_model.py").string() +
                                "' --model-dir '" + download.string() + "' --data-folder '" +
                                data.string() + "'";
    return std::system(command.c_str()) == 0 ? 0 : 1;
  } catch (const amlemu::AmlException& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
