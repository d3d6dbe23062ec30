// A VGG network (configs A/B/D/E, with or without BatchNorm, any widths, class count and
// input size that is a multiple of 32) built from a weights file, runnable forward and
// backward on one Context. Layers are addressed by their torchvision names: `features.N`,
// `avgpool`, `classifier.N`.
//
// Memory is planned once, in the constructor: the weights; a ping-pong pair of activation
// buffers for inference batches of up to `max_batch` (half-size maps in bf16); and, for backward,
// one buffer per layer output plus a gradient ping-pong pair for up to `max_grad_batch` images.
#pragma once
#include <array>
#include <functional>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/tensor.h"
#include "layers/layers.h"
#include "weights/weights.h"

namespace uc {

enum class LayerKind { Conv, BatchNorm, ReLU, MaxPool, AdaptiveAvgPool, Linear, Dropout };

// Layout of forward()'s feature maps. Auto: NHWC on CUDA in tf32 and bf16, where cuDNN's
// tensor-core convolutions run ~1.5x faster than NCHW (GPU.md); NCHW otherwise. bf16 storage
// needs NHWC: an explicit NCHW keeps it float (computed as in tf32).
enum class ForwardLayout { Auto, NCHW, NHWC };

struct NetworkOptions {
  int input_h = 0, input_w = 0;  // 0: the weights file's input size
  int max_batch = 32;            // largest batch for forward()
  int max_grad_batch = 1;        // largest batch for forward_keep()/backward()
  bool param_grads = false;      // allocate weight/bias gradients for backward()
  // forward() runs each convolution with its BatchNorm (folded in at load) and ReLU as one
  // fused call; false runs the layers one by one, as forward_keep() always does.
  bool fuse_inference = true;
  ForwardLayout layout = ForwardLayout::Auto;  // only with fuse_inference
  // MathMode::BF16 on the CPU, which otherwise computes it as fp32: run the fused steps in bf16
  // too, through the layers' CPU reference of the bf16 path (for tests against CUDA).
  bool bf16_reference = false;
};

struct NetworkLayer {
  std::string name;
  LayerKind kind;
  Shape in_shape, out_shape;  // per image: [C,H,W] for features/avgpool, [F] for the classifier
  Tensor weight, bias;        // Conv/Linear: weight and bias; BatchNorm: scale and shift (for
                              // fused layers of a network without backward: none, see forward)
  Tensor weight_grad, bias_grad;
  int r = 0, s = 0;  // Conv: the filter's height and width (as ConvShape, KCRS)
  bool feature_map() const { return out_shape.size() == 3; }
};

class VggNetwork {
 public:
  VggNetwork(Context& ctx, const ModelWeights& weights, const NetworkOptions& options = {});

  const std::vector<NetworkLayer>& layers() const { return layers_; }
  const NetworkLayer& layer(const std::string& name) const;
  int layer_index(const std::string& name) const;  // -1 when absent
  // The default CAM target layer: the ReLU after the last convolution.
  std::string last_conv_relu() const;
  int input_h() const { return input_h_; }
  int input_w() const { return input_w_; }
  // The normalization the weights expect: x = (rgb - mean) / std, per channel.
  const std::array<float, 3>& input_mean() const { return input_mean_; }
  const std::array<float, 3>& input_std() const { return input_std_; }
  int classes() const;
  int max_batch() const { return max_batch_; }
  int max_grad_batch() const { return max_grad_batch_; }
  Context& context() { return ctx_; }

  // Inference: input [n,3,H,W] on the context's backend, n <= max_batch. Returns the logits
  // [n, classes], a view valid until the next forward call.
  Tensor forward(const Tensor& input);
  // The same, calling mark(part) after each part's work is queued: each fused step (named by its
  // layers, "features.0-2 conv", "features.4 pool"), a layout conversion ("to nhwc", "to nchw")
  // and each later layer ("avgpool", "classifier.0", ...). A profiler synchronizes in `mark` and
  // reads a clock (`unioncam bench --profile`).
  Tensor forward(const Tensor& input, const std::function<void(const std::string&)>& mark);

  // Forward keeping every layer's output (n <= max_grad_batch), for activation() and backward().
  // With `keep_from` (a layer name), the layers before it run as forward() runs them (fused, no
  // outputs kept) when that lands exactly on it; activation() and backward() then reach down to
  // keep_from only. Explanations keep from their target layer.
  Tensor forward_keep(const Tensor& input, const std::string& keep_from = "");
  Tensor activation(const std::string& name) const;  // [n, ...] from the last forward_keep

  // Backward from a seed on the logits ([n, classes]) down to the output of layer `stop_at`
  // (or "input" for the gradient with respect to the network input), stopping there. Uses the
  // last forward_keep. Parameter gradients (when enabled) accumulate; zero them with
  // zero_param_grads(). Returns a view valid until the next backward call.
  Tensor backward(const Tensor& dlogits, const std::string& stop_at);
  void zero_param_grads();

  // Bytes of device (or host) memory planned by this network.
  size_t planned_bytes() const { return planned_bytes_; }
  // How forward() runs the feature layers: fused steps (and in which layout) or layer by layer.
  bool inference_fused() const { return !steps_.empty(); }
  Layout inference_layout() const { return layout_; }
  bool inference_bf16() const { return bf16_; }  // the fused steps store bfloat16 (MathMode::BF16)

 private:
  // One step of forward()'s feature stack: a fused convolution (conv [+ BN] + ReLU: layers
  // first..last) or a max-pool (first == last).
  struct InferenceStep {
    LayerKind kind;
    size_t first, last;
    Tensor weight, bias;  // Conv: BatchNorm folded in, filters in layout_ ([k,r,s,c] for NHWC),
                          // BF16 when bf16_ (the bias: F32, rounded to bf16 values)
  };
  // The constructor's parts, in the order it runs them.
  void build_layers(const ModelWeights& weights);
  void check_cudnn_limits() const;
  void plan_inference(const ModelWeights& weights, const NetworkOptions& options);
  void plan_memory();
  void upload_feature_weights(const ModelWeights& weights);
  Tensor upload(const HostArray& array) const;
  int64_t largest_map() const;  // the most elements any layer's output (or the input) holds

  void run_layer(const NetworkLayer& layer, int n, Tensor& out, const Tensor& in);
  // Runs the first `count` fused steps on input (n images) through the ping-pong buffers; the
  // result, NCHW, is written to `out` when given, else returned as a buffer view.
  Tensor run_steps(const Tensor& input, int n, size_t count, Tensor* out,
                   const std::function<void(const std::string&)>* mark = nullptr);
  Tensor batch_view(const Tensor& buffer, int n, const Shape& per_image) const;

  Context& ctx_;
  std::vector<NetworkLayer> layers_;
  int input_h_ = 0, input_w_ = 0;
  std::array<float, 3> input_mean_{}, input_std_{};
  int max_batch_ = 0, max_grad_batch_ = 0;
  Tensor ping_, pong_;        // inference activations
  std::vector<Tensor> kept_;  // per-layer outputs for backward
  Tensor kept_input_;
  Tensor grad_ping_, grad_pong_;  // backward activations' gradients
  int kept_n_ = 0;
  int kept_from_ = -1;  // first layer kept by the last forward_keep (-1: the input too)
  size_t planned_bytes_ = 0;
  std::vector<InferenceStep> steps_;  // empty: forward() runs layer by layer
  size_t steps_end_ = 0;              // first layer after the steps (avgpool)
  Layout layout_ = Layout::NCHW;
  bool bf16_ = false;
};

}  // namespace uc
