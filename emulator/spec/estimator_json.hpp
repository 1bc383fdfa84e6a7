// An Estimator as JSON and back, every field kept: how a run that submits other runs later (a
// sweep's parent, which submits its trials) keeps the trial it was given in its run definition.
// Not a user-facing format (spec files are parse_job_spec's); internal to the house.
#pragma once

#include <nlohmann/json.hpp>

#include "amlemu/estimator.hpp"

namespace amlemu::spec {

nlohmann::json estimator_to_json(const Estimator& e);
/// The inverse of estimator_to_json. Throws nlohmann::json::exception on a document it did not
/// write.
Estimator estimator_from_json(const nlohmann::json& doc);

}  // namespace amlemu::spec
