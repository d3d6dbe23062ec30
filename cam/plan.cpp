#include <algorithm>

#include "cam/cam.h"
#include "core/error.h"

namespace uc {

int default_masked_batch(Backend backend, int input_h, int input_w) {
  if (backend != Backend::CUDA) return 32;
  // A budget of 48 input-sized float buffers per masked input in the batch.
  const size_t per_image = size_t(3) * input_h * input_w * sizeof(float) * 48;
  return static_cast<int>(std::clamp<size_t>(cuda_memory_info().first / 4 / per_image, 1, 32));
}

ExplainerPlan plan_explainer(Context& ctx, const ModelWeights& weights, CamOptions& options,
                             int max_batch, const std::function<void(int, int)>& on_retry) {
  NetworkOptions net;
  net.max_grad_batch = 1;
  net.max_batch = max_batch;
  ExplainerPlan plan;
  for (;;) {
    try {
      plan.network = std::make_unique<VggNetwork>(ctx, weights, net);
      Explainer::validate(options, *plan.network);
      plan.explainer = std::make_unique<Explainer>(*plan.network, options);
      return plan;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::OutOfMemory || net.max_batch == 1) throw;
      plan.explainer.reset();
      plan.network.reset();  // frees its buffers before the smaller attempt
      if (on_retry) on_retry(net.max_batch, net.max_batch / 2);
      net.max_batch /= 2;
      if (options.batch > 0) options.batch = net.max_batch;
    }
  }
}

}  // namespace uc
