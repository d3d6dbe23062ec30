#include "runtime/network.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/error.h"

namespace uc {

namespace {
constexpr float kBatchNormEps = 1e-5f;  // torchvision's BatchNorm2d default
constexpr int kPooledSize = 7;          // torchvision's AdaptiveAvgPool2d((7, 7))

// A BatchNorm layer's inference form y = scale * x + shift, per channel, from the file's
// parameters (host). Used for the layer-by-layer BatchNorm and to fold it into the convolution.
void host_batchnorm(const ModelWeights& weights, const std::string& name, int c,
                    std::vector<float>* scale, std::vector<float>* shift) {
  scale->resize(c);
  shift->resize(c);
  batchnorm_scale_shift(
      weights.at(name + ".weight").data.data(), weights.at(name + ".bias").data.data(),
      weights.at(name + ".running_mean").data.data(), weights.at(name + ".running_var").data.data(),
      kBatchNormEps, c, scale->data(), shift->data());
}

// Fills the n, c, h, w fields every feature-map shape struct shares from the layer's input.
template <typename S>
S input_dims(const NetworkLayer& l, int n) {
  S s;
  s.n = n;
  s.c = static_cast<int>(l.in_shape[0]);
  s.h = static_cast<int>(l.in_shape[1]);
  s.w = static_cast<int>(l.in_shape[2]);
  return s;
}
ConvShape conv_shape(const NetworkLayer& l, int n) {
  ConvShape s = input_dims<ConvShape>(l, n);
  s.k = static_cast<int>(l.out_shape[0]);
  s.r = l.r;
  s.s = l.s;
  return s;
}
PoolShape pool_shape(const NetworkLayer& l, int n) { return input_dims<PoolShape>(l, n); }
AdaptivePoolShape adaptive_shape(const NetworkLayer& l, int n) {
  AdaptivePoolShape s = input_dims<AdaptivePoolShape>(l, n);
  s.out_h = static_cast<int>(l.out_shape[1]);
  s.out_w = static_cast<int>(l.out_shape[2]);
  return s;
}
LinearShape linear_shape(const NetworkLayer& l, int n) {
  return LinearShape{n, static_cast<int>(shape_numel(l.in_shape)),
                     static_cast<int>(l.out_shape[0])};
}
ChannelShape channel_shape(const NetworkLayer& l, int n) {
  const int c = static_cast<int>(l.in_shape[0]);
  return ChannelShape{n, c, static_cast<int>(shape_numel(l.in_shape) / c)};
}

Shape with_batch(int n, const Shape& per_image) {
  Shape s{n};
  s.insert(s.end(), per_image.begin(), per_image.end());
  return s;
}

// Hands out views of n images, alternately from two buffers: each layer reads the last view
// and writes the next.
struct PingPong {
  Tensor* buffers[2];
  int n;
  int next = 0;
  Tensor take(const Shape& per_image, DType dtype = DType::F32) {
    Tensor t = buffers[next]->view_as(dtype, with_batch(n, per_image));
    next ^= 1;
    return t;
  }
};
}  // namespace

VggNetwork::VggNetwork(Context& ctx, const ModelWeights& weights, const NetworkOptions& options)
    : ctx_(ctx),
      input_h_(options.input_h ? options.input_h : weights.input_h),
      input_w_(options.input_w ? options.input_w : weights.input_w),
      input_mean_(weights.mean),
      input_std_(weights.std),
      max_batch_(options.max_batch),
      max_grad_batch_(options.max_grad_batch) {
  if (input_h_ <= 0 || input_w_ <= 0 || input_h_ % 32 || input_w_ % 32 ||
      input_h_ > kMaxInputSide || input_w_ > kMaxInputSide)
    fail_usage("input size " + std::to_string(input_h_) + "x" + std::to_string(input_w_) +
               " is not supported: VGG needs a positive multiple of 32 on each side, at most " +
               std::to_string(kMaxInputSide));
  if (max_batch_ < 1 || max_grad_batch_ < 0)
    fail_usage("batch sizes must be positive (max_batch " + std::to_string(max_batch_) + ")");
  build_layers(weights);
  check_cudnn_limits();
  plan_inference(weights, options);
  plan_memory();
  // The feature layers' own weights, for forward_keep/backward and an unfused forward. Without
  // backward, a network whose features all run fused (plan_inference fuses all or none) needs
  // none of them (VGG16: 59 MB less).
  if (max_grad_batch_ > 0 || steps_.empty()) upload_feature_weights(weights);
  for (const InferenceStep& step : steps_)
    if (step.weight.defined()) planned_bytes_ += step.weight.nbytes() + step.bias.nbytes();
  for (NetworkLayer& l : layers_) {
    if (l.weight.defined()) planned_bytes_ += l.weight.nbytes() + l.bias.nbytes();
    if (options.param_grads && (l.kind == LayerKind::Conv || l.kind == LayerKind::Linear)) {
      l.weight_grad = Tensor::zeros(ctx_.backend(), l.weight.shape());
      l.bias_grad = Tensor::zeros(ctx_.backend(), l.bias.shape());
      planned_bytes_ += l.weight_grad.nbytes() + l.bias_grad.nbytes();
    }
  }
}

// The layers in torchvision order: features (convolutions, batchnorms, ReLUs and pools), the
// adaptive pool, the classifier (Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear) with its
// weights uploaded. Convolution and BatchNorm weights come later, when needed.
void VggNetwork::build_layers(const ModelWeights& weights) {
  Shape shape{3, input_h_, input_w_};
  for (const FeatureModule& m : weights.arch.features) {
    NetworkLayer l;
    l.name = "features." + std::to_string(m.index);
    l.in_shape = shape;
    switch (m.kind) {
      case FeatureModule::Conv: {
        l.kind = LayerKind::Conv;
        const Shape& w = weights.at(l.name + ".weight").shape;
        l.r = static_cast<int>(w[2]);
        l.s = static_cast<int>(w[3]);
        l.out_shape = {m.out_channels, shape[1], shape[2]};
        break;
      }
      case FeatureModule::BatchNorm:
        l.kind = LayerKind::BatchNorm;
        l.out_shape = shape;
        break;
      case FeatureModule::ReLU:
        l.kind = LayerKind::ReLU;
        l.out_shape = shape;
        break;
      case FeatureModule::MaxPool:
        l.kind = LayerKind::MaxPool;
        l.out_shape = {shape[0], shape[1] / 2, shape[2] / 2};
        break;
    }
    shape = l.out_shape;
    layers_.push_back(std::move(l));
  }

  NetworkLayer pool;
  pool.name = "avgpool";
  pool.kind = LayerKind::AdaptiveAvgPool;
  pool.in_shape = shape;
  pool.out_shape = {shape[0], kPooledSize, kPooledSize};
  layers_.push_back(pool);
  Shape flat{shape[0] * kPooledSize * kPooledSize};

  for (int i = 0; i < 7; ++i) {
    NetworkLayer l;
    l.name = "classifier." + std::to_string(i);
    l.in_shape = flat;
    if (i % 3 == 0) {
      l.kind = LayerKind::Linear;
      l.weight = upload(weights.at(l.name + ".weight"));
      l.bias = upload(weights.at(l.name + ".bias"));
      l.out_shape = {l.weight.dim(0)};
    } else {
      l.kind = i % 3 == 1 ? LayerKind::ReLU : LayerKind::Dropout;
      l.out_shape = flat;
    }
    flat = l.out_shape;
    layers_.push_back(std::move(l));
  }
}

Tensor VggNetwork::upload(const HostArray& a) const {
  return Tensor::from_host(ctx_.backend(), a.shape, a.data);
}

int64_t VggNetwork::largest_map() const {
  int64_t largest = 3LL * input_h_ * input_w_;
  for (const NetworkLayer& l : layers_) largest = std::max(largest, shape_numel(l.out_shape));
  return largest;
}

// cuDNN's tensor descriptors hold fewer than 2^31 elements: a larger batch is refused up front.
void VggNetwork::check_cudnn_limits() const {
  if (!ctx_.is_cuda()) return;
  const int64_t cap = std::numeric_limits<int32_t>::max() / largest_map();
  if (max_batch_ > cap || max_grad_batch_ > cap)
    fail_usage("batch " + std::to_string(std::max(max_batch_, max_grad_batch_)) + " at " +
               std::to_string(input_h_) + "x" + std::to_string(input_w_) +
               " passes cuDNN's limit of 2^31 elements per tensor: at most " + std::to_string(cap));
}

// Activations, allocated once: the inference ping-pong pair (bf16 steps keep their maps in half
// the bytes; the layers after them stay float) and, for backward, every layer's kept output and
// the gradient ping-pong pair.
void VggNetwork::plan_memory() {
  const Backend backend = ctx_.backend();
  const int64_t largest = largest_map();
  int64_t inference_floats = max_batch_ * largest;
  if (bf16_) {
    int64_t steps_largest = 3LL * input_h_ * input_w_, after_largest = 0;
    for (size_t i = 0; i < layers_.size(); ++i) {
      int64_t& part = i < steps_end_ ? steps_largest : after_largest;
      part = std::max(part, shape_numel(layers_[i].out_shape));
    }
    // "to nchw"
    after_largest = std::max(after_largest, shape_numel(layers_[steps_end_ - 1].out_shape));
    const int64_t steps_floats = (max_batch_ * steps_largest * int64_t(dtype_bytes(DType::BF16)) +
                                  int64_t(sizeof(float)) - 1) /
                                 int64_t(sizeof(float));
    inference_floats = std::max(steps_floats, max_batch_ * after_largest);
  }
  ping_ = Tensor::empty(backend, {inference_floats});
  pong_ = Tensor::empty(backend, {inference_floats});
  planned_bytes_ = ping_.nbytes() + pong_.nbytes();
  if (max_grad_batch_ == 0) return;
  int64_t total_outputs = 0;
  for (const NetworkLayer& l : layers_) total_outputs += shape_numel(l.out_shape);
  Tensor arena = Tensor::empty(backend, {max_grad_batch_ * total_outputs});
  int64_t offset = 0;
  for (const NetworkLayer& l : layers_) {
    const int64_t count = max_grad_batch_ * shape_numel(l.out_shape);
    kept_.push_back(arena.view(offset, {count}));
    offset += count;
  }
  grad_ping_ = Tensor::empty(backend, {max_grad_batch_ * largest});
  grad_pong_ = Tensor::empty(backend, {max_grad_batch_ * largest});
  planned_bytes_ += arena.nbytes() + grad_ping_.nbytes() + grad_pong_.nbytes();
}

// The convolutions' weights and BatchNorm's per-channel scale and shift, as the layer-by-layer
// passes use them.
void VggNetwork::upload_feature_weights(const ModelWeights& weights) {
  for (NetworkLayer& l : layers_) {
    if (l.kind == LayerKind::Conv) {
      l.weight = upload(weights.at(l.name + ".weight"));
      l.bias = upload(weights.at(l.name + ".bias"));
    } else if (l.kind == LayerKind::BatchNorm) {
      const int c = static_cast<int>(l.in_shape[0]);
      std::vector<float> scale, shift;
      host_batchnorm(weights, l.name, c, &scale, &shift);
      l.weight = Tensor::from_host(ctx_.backend(), {c}, scale);
      l.bias = Tensor::from_host(ctx_.backend(), {c}, shift);
    }
  }
}

// The feature layers as forward() runs them: every conv [+ BN] + ReLU becomes one fused
// convolution whose weights have the BatchNorm folded in (and are reordered for NHWC), every
// max-pool one pool. A stack of any other shape keeps steps_ empty (layer by layer).
void VggNetwork::plan_inference(const ModelWeights& weights, const NetworkOptions& options) {
  if (!options.fuse_inference) return;
  // bf16 storage needs NHWC (cuDNN's bf16 tensor-core convolutions); an explicit NCHW keeps float.
  const bool bf16 = (ctx_.is_cuda() || options.bf16_reference) && ctx_.math() == MathMode::BF16 &&
                    options.layout != ForwardLayout::NCHW;
  const bool nhwc =
      bf16 || options.layout == ForwardLayout::NHWC ||
      (options.layout == ForwardLayout::Auto && ctx_.is_cuda() && uses_tensor_cores(ctx_.math()));
  const DType filter_dtype = bf16 ? DType::BF16 : DType::F32;  // biases stay float
  std::vector<InferenceStep> steps;
  size_t i = 0;
  while (i < layers_.size() && layers_[i].kind != LayerKind::AdaptiveAvgPool) {
    const NetworkLayer& conv = layers_[i];
    if (conv.kind == LayerKind::MaxPool) {
      steps.push_back({LayerKind::MaxPool, i, i, {}, {}});
      ++i;
      continue;
    }
    if (conv.kind != LayerKind::Conv) return;
    size_t j = i + 1;
    const bool bn = j < layers_.size() && layers_[j].kind == LayerKind::BatchNorm;
    if (bn) ++j;
    if (j >= layers_.size() || layers_[j].kind != LayerKind::ReLU) return;
    const HostArray& w = weights.at(conv.name + ".weight");
    std::vector<float> wf = w.data, bf = weights.at(conv.name + ".bias").data;
    const int k = static_cast<int>(w.shape[0]), c = static_cast<int>(w.shape[1]);
    const int r = static_cast<int>(w.shape[2]), s = static_cast<int>(w.shape[3]);
    if (bn) {
      std::vector<float> scale, shift;
      host_batchnorm(weights, layers_[i + 1].name, k, &scale, &shift);
      batchnorm_fold_into_conv(wf.data(), bf.data(), k, c * r * s, scale.data(), shift.data());
    }
    // In bf16 the bias is stored as float but rounded to bf16 once here: cuDNN's bf16 fused
    // call may only take a bf16 bias, so every form it settles on (float bias, bf16 copy, our
    // own bias-ReLU kernel) and the CPU reference then add the same values.
    if (bf16)
      for (float& v : bf) v = from_bf16(to_bf16(v));
    Shape w_shape{k, c, r, s};
    if (nhwc) {
      std::vector<float> krsc(wf.size());
      convert_layout_host(krsc.data(), Layout::NHWC, wf.data(), Layout::NCHW, k, c, r, s);
      wf.swap(krsc);
      w_shape = {k, r, s, c};
    }
    steps.push_back({LayerKind::Conv, i, j,
                     Tensor::from_host(ctx_.backend(), w_shape, wf, filter_dtype),
                     Tensor::from_host(ctx_.backend(), {k}, bf)});
    i = j + 1;
  }
  steps_ = std::move(steps);
  steps_end_ = i;
  layout_ = nhwc ? Layout::NHWC : Layout::NCHW;
  bf16_ = bf16;
}

const NetworkLayer& VggNetwork::layer(const std::string& name) const {
  const int i = layer_index(name);
  if (i < 0)
    fail_usage("layer '" + name +
               "' does not exist in this network (try features.N, avgpool or classifier.N)");
  return layers_[static_cast<size_t>(i)];
}

int VggNetwork::layer_index(const std::string& name) const {
  for (size_t i = 0; i < layers_.size(); ++i)
    if (layers_[i].name == name) return static_cast<int>(i);
  return -1;
}

std::string VggNetwork::last_conv_relu() const {
  std::string name;
  bool after_conv = false;
  for (const NetworkLayer& l : layers_) {
    if (!l.feature_map() || l.kind == LayerKind::AdaptiveAvgPool) break;
    if (l.kind == LayerKind::Conv) after_conv = true;
    if (l.kind == LayerKind::ReLU && after_conv) name = l.name, after_conv = false;
  }
  return name;
}

int VggNetwork::classes() const { return static_cast<int>(layers_.back().out_shape[0]); }

Tensor VggNetwork::batch_view(const Tensor& buffer, int n, const Shape& per_image) const {
  return buffer.view(0, with_batch(n, per_image));
}

void VggNetwork::run_layer(const NetworkLayer& l, int n, Tensor& out, const Tensor& in) {
  switch (l.kind) {
    case LayerKind::Conv: conv2d_forward(ctx_, out, in, l.weight, l.bias, conv_shape(l, n)); break;
    case LayerKind::BatchNorm:
      batchnorm_forward(ctx_, out, in, l.weight, l.bias, channel_shape(l, n));
      break;
    case LayerKind::ReLU: relu_forward(ctx_, out, in); break;
    case LayerKind::MaxPool: maxpool2d_forward(ctx_, out, in, pool_shape(l, n)); break;
    case LayerKind::AdaptiveAvgPool:
      adaptive_avgpool_forward(ctx_, out, in, adaptive_shape(l, n));
      break;
    case LayerKind::Linear: {
      const Tensor flat = in.reshape({n, shape_numel(l.in_shape)});
      linear_forward(ctx_, out, flat, l.weight, l.bias, linear_shape(l, n));
      break;
    }
    case LayerKind::Dropout: dropout_forward(ctx_, out, in); break;
  }
}

static void check_input(const Tensor& input, int max_n, int h, int w, Backend backend,
                        const char* what) {
  if (input.rank() != 4 || input.dim(1) != 3 || input.dim(2) != h || input.dim(3) != w)
    fail_usage(std::string(what) + ": expected input [n, 3, " + std::to_string(h) + ", " +
               std::to_string(w) + "], got " + shape_str(input.shape()));
  if (input.dim(0) < 1 || input.dim(0) > max_n)
    fail_usage(std::string(what) + ": batch " + std::to_string(input.dim(0)) +
               " is outside the planned 1.." + std::to_string(max_n));
  UC_ASSERT(input.backend() == backend, std::string(what) + ": input on the wrong backend");
}

Tensor VggNetwork::run_steps(const Tensor& input, int n, size_t count, Tensor* result,
                             const std::function<void(const std::string&)>* mark) {
  const auto marked = [&](const std::string& part) {
    if (mark) (*mark)(part);
  };
  Tensor current = input;
  PingPong buffers{{&ping_, &pong_}, n};
  const bool nhwc = layout_ == Layout::NHWC;
  // The next buffer for n maps of [c,h,w] in the steps' layout and type.
  auto next_buffer = [&](const Shape& chw) {
    return buffers.take(nhwc ? Shape{chw[1], chw[2], chw[0]} : chw,
                        bf16_ ? DType::BF16 : DType::F32);
  };
  if (nhwc) {
    Tensor t = next_buffer({3, input_h_, input_w_});
    if (bf16_)
      convert_to_bf16_nhwc(ctx_, t, input, n, 3, input_h_, input_w_);
    else
      convert_layout(ctx_, t, Layout::NHWC, input, Layout::NCHW, n, 3, input_h_, input_w_);
    current = t;
    marked(bf16_ ? "to nhwc bf16" : "to nhwc");
  }
  for (size_t i = 0; i < count; ++i) {
    const InferenceStep& step = steps_[i];
    // The last step writes straight into `result` unless a layout conversion follows.
    const bool last = i + 1 == count;
    Tensor out = last && result && !nhwc ? *result : next_buffer(layers_[step.last].out_shape);
    if (step.kind == LayerKind::Conv) {
      ConvShape shape = conv_shape(layers_[step.first], n);
      shape.layout = layout_;
      conv2d_bias_relu_forward(ctx_, out, current, step.weight, step.bias, shape);
    } else {
      PoolShape shape = pool_shape(layers_[step.first], n);
      shape.layout = layout_;
      maxpool2d_forward(ctx_, out, current, shape);
    }
    current = out;
    if (mark) {
      const std::string& first = layers_[step.first].name;
      const std::string& end = layers_[step.last].name;
      marked(step.kind == LayerKind::MaxPool
                 ? first + " pool"
                 : first + "-" + end.substr(end.find('.') + 1) + " conv");
    }
  }
  if (nhwc) {  // back to NCHW float for the layers after the steps
    const Shape& chw = layers_[steps_[count - 1].last].out_shape;
    Tensor t = result ? *result : buffers.take(chw);
    const int c = static_cast<int>(chw[0]), h = static_cast<int>(chw[1]),
              w = static_cast<int>(chw[2]);
    if (bf16_)
      convert_from_bf16_nhwc(ctx_, t, current, n, c, h, w);
    else
      convert_layout(ctx_, t, Layout::NCHW, current, Layout::NHWC, n, c, h, w);
    current = t;
    marked("to nchw");
  }
  return current;
}

Tensor VggNetwork::forward(const Tensor& input) { return forward(input, nullptr); }

Tensor VggNetwork::forward(const Tensor& input,
                           const std::function<void(const std::string&)>& mark) {
  check_input(input, max_batch_, input_h_, input_w_, ctx_.backend(), "forward");
  const int n = static_cast<int>(input.dim(0));
  Tensor current = input;
  size_t first = 0;
  if (!steps_.empty()) {
    current = run_steps(input, n, steps_.size(), nullptr, mark ? &mark : nullptr);
    first = steps_end_;
  }
  // The classifier starts in the buffer the steps did not end in.
  PingPong buffers{{&ping_, &pong_}, n, !steps_.empty() && current.data() == ping_.data() ? 1 : 0};
  for (size_t i = first; i < layers_.size(); ++i) {
    const NetworkLayer& l = layers_[i];
    // Elementwise layers run in place: the inference path keeps no intermediate outputs.
    if (l.kind == LayerKind::Dropout) continue;
    if (l.kind == LayerKind::ReLU && current.data() != input.data()) {
      relu_forward(ctx_, current, current);
    } else {
      Tensor out = buffers.take(l.out_shape);
      run_layer(l, n, out, current);
      current = out;
    }
    if (mark) mark(l.name);
  }
  return current.reshape({n, classes()});
}

Tensor VggNetwork::forward_keep(const Tensor& input, const std::string& keep_from) {
  if (max_grad_batch_ < 1)
    fail_usage("forward_keep: this network was planned without a backward batch");
  check_input(input, max_grad_batch_, input_h_, input_w_, ctx_.backend(), "forward_keep");
  const int n = static_cast<int>(input.dim(0));
  const int from = keep_from.empty() ? 0 : layer_index(keep_from);
  if (from < 0) fail_usage("layer '" + keep_from + "' does not exist in this network");
  kept_input_ = input;
  kept_n_ = n;
  kept_from_ = -1;
  Tensor current = input;
  size_t first = 0;
  // Fused steps for the layers before keep_from, when a step ends exactly on it (a ReLU after a
  // convolution) or just before it, and the batch fits forward()'s buffers.
  size_t count = 0;
  while (count < steps_.size() && static_cast<int>(steps_[count].last) <= from) ++count;
  if (count > 0 && n <= max_batch_ && static_cast<int>(steps_[count - 1].last) >= from - 1) {
    const size_t last = steps_[count - 1].last;
    Tensor out = batch_view(kept_[last], n, layers_[last].out_shape);
    run_steps(input, n, count, &out);
    current = out;
    first = last + 1;
    kept_from_ = static_cast<int>(last);
  }
  for (size_t i = first; i < layers_.size(); ++i) {
    Tensor out = batch_view(kept_[i], n, layers_[i].out_shape);
    run_layer(layers_[i], n, out, current);
    current = out;
  }
  return batch_view(kept_.back(), n, {classes()});
}

Tensor VggNetwork::activation(const std::string& name) const {
  UC_ASSERT(kept_n_ > 0, "activation() before forward_keep()");
  const int i = layer_index(name);
  if (i < 0) fail_usage("layer '" + name + "' does not exist in this network");
  UC_ASSERT(i >= kept_from_, "activation(" + name + "): the last forward_keep kept layers from " +
                                 layers_[static_cast<size_t>(kept_from_)].name + " on");
  return batch_view(kept_[static_cast<size_t>(i)], kept_n_,
                    layers_[static_cast<size_t>(i)].out_shape);
}

Tensor VggNetwork::backward(const Tensor& dlogits, const std::string& stop_at) {
  UC_ASSERT(kept_n_ > 0, "backward() before forward_keep()");
  const int n = kept_n_;
  UC_ASSERT(dlogits.numel() == static_cast<int64_t>(n) * classes(),
            "backward: seed must be [n, classes]");
  const int stop = stop_at == "input" ? -1 : layer_index(stop_at);
  if (stop < 0 && stop_at != "input")
    fail_usage("layer '" + stop_at + "' does not exist in this network");
  UC_ASSERT(stop >= kept_from_,
            "backward to " + stop_at + ": the last forward_keep kept layers from " +
                layers_[static_cast<size_t>(std::max(kept_from_, 0))].name + " on");

  Tensor grad = dlogits.reshape({n, classes()});
  PingPong buffers{{&grad_ping_, &grad_pong_}, n};
  for (int i = static_cast<int>(layers_.size()) - 1; i > stop; --i) {
    NetworkLayer& l = layers_[static_cast<size_t>(i)];
    if (l.kind == LayerKind::Dropout) continue;  // identity at inference
    const Tensor in =
        i == 0 ? kept_input_ : batch_view(kept_[static_cast<size_t>(i - 1)], n, l.in_shape);
    const Tensor out = batch_view(kept_[static_cast<size_t>(i)], n, l.out_shape);
    Tensor din = buffers.take(l.in_shape);
    Tensor* dw = l.weight_grad.defined() ? &l.weight_grad : nullptr;
    Tensor* db = l.bias_grad.defined() ? &l.bias_grad : nullptr;
    switch (l.kind) {
      case LayerKind::Conv:
        conv2d_backward(ctx_, &din, dw, db, grad, in, l.weight, conv_shape(l, n));
        break;
      case LayerKind::BatchNorm:
        batchnorm_backward(ctx_, din, grad, l.weight, channel_shape(l, n));
        break;
      case LayerKind::ReLU: relu_backward(ctx_, din, grad, out); break;
      case LayerKind::MaxPool:
        maxpool2d_backward(ctx_, din, grad, in, out, pool_shape(l, n));
        break;
      case LayerKind::AdaptiveAvgPool:
        adaptive_avgpool_backward(ctx_, din, grad, adaptive_shape(l, n));
        break;
      case LayerKind::Linear: {
        const Tensor flat_in = in.reshape({n, shape_numel(l.in_shape)});
        Tensor flat_din = din.reshape({n, shape_numel(l.in_shape)});
        linear_backward(ctx_, &flat_din, dw, db, grad, flat_in, l.weight, linear_shape(l, n));
        break;
      }
      case LayerKind::Dropout: break;
    }
    grad = din;
  }
  return grad;
}

void VggNetwork::zero_param_grads() {
  for (NetworkLayer& l : layers_) {
    if (l.weight_grad.defined()) l.weight_grad.fill_zero();
    if (l.bias_grad.defined()) l.bias_grad.fill_zero();
  }
}

}  // namespace uc
