// Umbrella header: the whole public API.
#pragma once

#include "amlemu/compute.hpp"
#include "amlemu/datastore.hpp"
#include "amlemu/environment.hpp"
#include "amlemu/errors.hpp"
#include "amlemu/estimator.hpp"
#include "amlemu/experiment.hpp"
#include "amlemu/hyperdrive.hpp"
#include "amlemu/job_yaml.hpp"
#include "amlemu/mirror.hpp"
#include "amlemu/model.hpp"
#include "amlemu/run.hpp"
#include "amlemu/workspace.hpp"
