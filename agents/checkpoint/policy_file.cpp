#include "agents/checkpoint/policy_file.h"

#include <stdexcept>

#include "agents/checkpoint/sealed_archive.h"

namespace aaren {

void save_policy(const std::string& path, const PolicyCheckpoint& p) {
  torch::serialize::OutputArchive archive;
  p.actor->save(archive);
  archive.write("aaren_policy_env", c10::IValue(p.env));
  archive.write("aaren_policy_dims", torch::tensor({p.obs_dim, p.act_dim, p.hidden, p.step}, torch::kInt64));
  archive.write("aaren_policy_eval_return", torch::tensor({p.eval_return}, torch::kFloat64));
  archive.write("aaren_policy_eval_step", torch::tensor({p.eval_step}, torch::kInt64));
  save_sealed_archive(archive, path);
}

PolicyCheckpoint load_policy(const std::string& path) {
  auto archive = load_sealed_archive(path, "policy file");
  PolicyCheckpoint p;
  try {
    c10::IValue env;
    torch::Tensor dims, ret;
    if (!archive.try_read("aaren_policy_env", env) || !archive.try_read("aaren_policy_dims", dims) ||
        !archive.try_read("aaren_policy_eval_return", ret))
      throw std::runtime_error("not an aaren SAC policy (missing aaren_policy_* entries)");
    p.env = env.toStringRef();
    p.obs_dim = dims[0].item<int64_t>(), p.act_dim = dims[1].item<int64_t>();
    p.hidden = dims[2].item<int64_t>(), p.step = dims[3].item<int64_t>();
    p.eval_return = ret[0].item<double>();
    torch::Tensor eval_step;  // absent from files written before it was recorded
    p.eval_step = archive.try_read("aaren_policy_eval_step", eval_step) ? eval_step[0].item<int64_t>()
                                                                        : PolicyCheckpoint::kNotRecorded;
    p.actor = GaussianActor(p.obs_dim, p.act_dim, p.hidden);
    p.actor->load(archive);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": cannot read the policy (" + torch_error_line(e) + ")");
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  p.actor->eval();
  return p;
}

std::string describe_evaluation(const PolicyCheckpoint& p) {
  const std::string value = std::to_string(p.eval_return);
  if (p.eval_step == p.step) return "evaluation return " + value;
  if (p.eval_step == PolicyCheckpoint::kNoEvaluation) return "not evaluated: saved before its run's first evaluation";
  if (p.eval_step == PolicyCheckpoint::kNotRecorded)
    return "its run's latest evaluation when it was saved returned " + value + ", at a step not recorded";
  return "not evaluated itself; its run's latest evaluation, at step " + std::to_string(p.eval_step) + ", returned " +
         value;
}

}  // namespace aaren
