// HyperDrive (SDK v1): a HyperDriveConfig submitted as a sweep under HD_<guid>.
#include "amlemu/errors.hpp"
#include "amlemu/hyperdrive.hpp"
#include "common/ids.hpp"

namespace amlemu {

Run submit_hyperdrive(const Experiment& experiment, const HyperDriveConfig& config) {
  const auto definition = hyperdrive_definition(config);
  Estimator trial = config.estimator;
  if (!trial.command.empty()) throw UserErrorException("estimator: HyperDrive runs an entry script with arguments, not a command");
  trial.run_name = "HD_" + new_guid();
  return experiment.submit_sweep(trial, definition);
}

}  // namespace amlemu
