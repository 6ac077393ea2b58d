// Shape arithmetic computed at import: when every input of a node is a constant (an initializer,
// a Constant, a Shape of a value whose shape is known, or an earlier folded result), the node's
// outputs are constants too. This is how x.size()-driven code (ShuffleNet's channel split and
// shuffle, a Reshape to [N, -1] of a dynamic export) becomes static once the input size is known.
#include <algorithm>
#include <cmath>

#include "import/onnx/converters.hpp"
#include "import/onnx/importer.hpp"
#include "import/onnx/node_attrs.hpp"

namespace footprint {
namespace {

using Tensor = std::shared_ptr<const ConstTensor>;

// Folded tensors are shapes and indices; anything this large is a mistake or a hostile file.
constexpr int64_t kMaxFoldedElems = int64_t{1} << 24;

int64_t count_of(Importer& im, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || (d != 0 && n > kMaxFoldedElems / d)) {
      im.fail("computes a constant of shape " + dims_text(dims) + "; Footprint folds shape arithmetic of at most " +
              std::to_string(kMaxFoldedElems) + " values");
    }
    n *= d;
  }
  return n;
}

// Output tensor with in's element type: element i is in's element index[i].
Tensor pick(Importer& im, const ConstTensor& in, std::vector<int64_t> dims, const std::vector<int64_t>& index) {
  (void)count_of(im, dims);
  if (in.is_float()) {
    const std::vector<float> v = in.floats();
    std::vector<float> out(index.size());
    for (size_t i = 0; i < index.size(); ++i) out[i] = v[index[i]];
    return ConstTensor::of_floats(std::move(dims), std::move(out));
  }
  const std::vector<int64_t> v = in.ints(im.where());
  std::vector<int64_t> out(index.size());
  for (size_t i = 0; i < index.size(); ++i) out[i] = v[index[i]];
  return ConstTensor::of_ints(std::move(dims), std::move(out));
}

// The same values under other dims (Reshape, Squeeze, Unsqueeze, Identity).
Tensor redim(Importer& im, const ConstTensor& in, std::vector<int64_t> dims) {
  if (count_of(im, dims) != in.n_elems()) {
    im.fail("reshapes a constant of shape " + dims_text(in.dims()) + " to " + dims_text(dims));
  }
  std::vector<int64_t> index(in.n_elems());
  for (int64_t i = 0; i < in.n_elems(); ++i) index[i] = i;
  return pick(im, in, std::move(dims), index);
}

int64_t normalize_axis(Importer& im, int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank) {
    im.fail(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  return strides;
}

// For each element of the broadcast output, the element of `in` it reads (NumPy broadcasting).
std::vector<int64_t> broadcast_index(const std::vector<int64_t>& in, const std::vector<int64_t>& out, int64_t n) {
  const std::vector<int64_t> in_strides = strides_of(in), out_strides = strides_of(out);
  const size_t offset = out.size() - in.size();
  std::vector<int64_t> index(n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t src = 0;
    for (size_t j = 0; j < in.size(); ++j) {
      const int64_t coord = (i / out_strides[j + offset]) % out[j + offset];
      if (in[j] != 1) src += coord * in_strides[j];
    }
    index[i] = src;
  }
  return index;
}

enum class Op { add, sub, mul, div };

void fold_binary(Importer& im, Op op) {
  NodeAttrs(im).finish();
  if (im.n_inputs() != 2) im.fail("expected 2 inputs, found " + std::to_string(im.n_inputs()));
  const Tensor a = im.constant(0, "A"), b = im.constant(1, "B");
  std::vector<int64_t> dims(std::max(a->rank(), b->rank()), 1);
  for (int side = 0; side < 2; ++side) {
    const std::vector<int64_t>& d = (side ? b : a)->dims();
    for (size_t j = 0; j < d.size(); ++j) {
      int64_t& o = dims[dims.size() - d.size() + j];
      if (d[j] == o || d[j] == 1) continue;
      if (o != 1) im.fail("shapes " + dims_text(a->dims()) + " and " + dims_text(b->dims()) + " do not broadcast");
      o = d[j];
    }
  }
  const int64_t n = count_of(im, dims);
  const std::vector<int64_t> ia = broadcast_index(a->dims(), dims, n), ib = broadcast_index(b->dims(), dims, n);
  if (!a->is_float() && !b->is_float()) {
    const std::vector<int64_t> va = a->ints(im.where()), vb = b->ints(im.where());
    std::vector<int64_t> out(n);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t x = va[ia[i]], y = vb[ib[i]];
      bool overflow = false;
      switch (op) {
        case Op::add: overflow = __builtin_add_overflow(x, y, &out[i]); break;
        case Op::sub: overflow = __builtin_sub_overflow(x, y, &out[i]); break;
        case Op::mul: overflow = __builtin_mul_overflow(x, y, &out[i]); break;
        case Op::div:
          if (y == 0) im.fail("divides by zero");
          out[i] = x / y;  // integer division truncates, as in ONNX
          break;
      }
      if (overflow) im.fail("overflows int64 on " + std::to_string(x) + " and " + std::to_string(y));
    }
    return im.set_constant(0, ConstTensor::of_ints(std::move(dims), std::move(out)));
  }
  const std::vector<float> va = a->floats(), vb = b->floats();
  std::vector<float> out(n);
  for (int64_t i = 0; i < n; ++i) {
    const float x = va[ia[i]], y = vb[ib[i]];
    out[i] = op == Op::add ? x + y : op == Op::sub ? x - y : op == Op::mul ? x * y : x / y;
  }
  im.set_constant(0, ConstTensor::of_floats(std::move(dims), std::move(out)));
}

// Axes of Squeeze and Unsqueeze: an attribute before opset 13, an input from 13.
std::vector<int64_t> read_axes(Importer& im) {
  NodeAttrs a(im);
  std::vector<int64_t> axes = a.get_ints("axes");
  a.finish();
  if (im.opset() >= 13 && im.has_input(1)) axes = im.constant_ints(1, "axes");
  return axes;
}

}  // namespace

void fold_add(Importer& im) { fold_binary(im, Op::add); }
void fold_sub(Importer& im) { fold_binary(im, Op::sub); }
void fold_mul(Importer& im) { fold_binary(im, Op::mul); }
void fold_div(Importer& im) { fold_binary(im, Op::div); }

void fold_identity(Importer& im) {
  NodeAttrs(im).finish();
  im.set_constant(0, im.constant(0, "input"));
}

void fold_shape(Importer& im) {
  NodeAttrs a(im);
  const int64_t start_attr = a.get_int("start", 0);
  const bool has_end = a.has("end");
  const int64_t end_attr = a.get_int("end", 0);
  a.finish();
  const std::vector<int64_t> dims = im.constant(0, "data")->dims();
  const auto rank = static_cast<int64_t>(dims.size());
  auto clamp = [&](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + rank : i, 0, rank); };
  const int64_t start = clamp(start_attr), end = has_end ? clamp(end_attr) : rank;
  std::vector<int64_t> part(dims.begin() + start, dims.begin() + std::max(start, end));
  const auto n = static_cast<int64_t>(part.size());
  im.set_constant(0, ConstTensor::of_ints({n}, std::move(part)));
}

void fold_gather(Importer& im) {
  NodeAttrs a(im);
  const int64_t axis_attr = a.get_int("axis", 0);
  a.finish();
  const Tensor data = im.constant(0, "data"), indices = im.constant(1, "indices");
  const std::vector<int64_t>& d = data->dims();
  const int64_t axis = normalize_axis(im, axis_attr, data->rank(), "axis");
  if (data->rank() == 0) im.fail("gathers from a scalar");
  std::vector<int64_t> idx = indices->ints(im.where() + ": indices");
  for (int64_t& i : idx) {
    if (i < -d[axis] || i >= d[axis]) im.fail("index " + std::to_string(i) + " is out of range for " + dims_text(d));
    if (i < 0) i += d[axis];
  }
  std::vector<int64_t> dims(d.begin(), d.begin() + axis);
  dims.insert(dims.end(), indices->dims().begin(), indices->dims().end());
  dims.insert(dims.end(), d.begin() + axis + 1, d.end());
  int64_t outer = 1, inner = 1;
  for (int64_t j = 0; j < axis; ++j) outer *= d[j];
  for (int64_t j = axis + 1; j < data->rank(); ++j) inner *= d[j];
  std::vector<int64_t> index;
  index.reserve(count_of(im, dims));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : idx)
      for (int64_t k = 0; k < inner; ++k) index.push_back((o * d[axis] + i) * inner + k);
  im.set_constant(0, pick(im, *data, std::move(dims), index));
}

void fold_unsqueeze(Importer& im) {
  const Tensor data = im.constant(0, "data");
  const std::vector<int64_t> axes = read_axes(im);
  const int64_t out_rank = data->rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> inserted(out_rank, false);
  for (int64_t axis : axes) {
    const int64_t a = normalize_axis(im, axis, out_rank, "axis");
    if (inserted[a]) im.fail("axes " + dims_text(axes) + " name axis " + std::to_string(a) + " twice");
    inserted[a] = true;
  }
  std::vector<int64_t> dims;
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) dims.push_back(inserted[i] ? 1 : data->dims().at(next++));
  im.set_constant(0, redim(im, *data, std::move(dims)));
}

void fold_squeeze(Importer& im) {
  const Tensor data = im.constant(0, "data");
  const std::vector<int64_t> axes = read_axes(im);
  const std::vector<int64_t>& d = data->dims();
  std::vector<bool> drop(d.size(), axes.empty());
  if (axes.empty())
    for (size_t i = 0; i < d.size(); ++i) drop[i] = d[i] == 1;
  for (int64_t axis : axes) {
    const int64_t a = normalize_axis(im, axis, data->rank(), "axis");
    if (d[a] != 1) im.fail("squeezes axis " + std::to_string(a) + " of " + dims_text(d) + ", which is not 1");
    drop[a] = true;
  }
  std::vector<int64_t> dims;
  for (size_t i = 0; i < d.size(); ++i)
    if (!drop[i]) dims.push_back(d[i]);
  im.set_constant(0, redim(im, *data, std::move(dims)));
}

void fold_reshape(Importer& im) {
  NodeAttrs a(im);
  const bool allow_zero = a.get_int("allowzero", 0) != 0;
  std::vector<int64_t> dims = a.get_ints("shape");
  a.finish();
  const Tensor data = im.constant(0, "data");
  if (im.has_input(1)) dims = im.constant_ints(1, "shape");
  int unknown = -1;
  int64_t known = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0 && !allow_zero) dims[i] = i < data->dims().size() ? data->dims()[i] : 0;
    if (dims[i] == -1) {
      if (unknown >= 0) im.fail("shape " + dims_text(dims) + " has more than one -1");
      unknown = static_cast<int>(i);
    } else {
      known *= count_of(im, {dims[i]});
    }
  }
  if (unknown >= 0) dims[unknown] = known > 0 ? data->n_elems() / known : 0;
  im.set_constant(0, redim(im, *data, std::move(dims)));
}

void fold_concat(Importer& im) {
  NodeAttrs a(im);
  const int64_t axis_attr = a.get_int("axis", 0);
  a.finish();
  std::vector<Tensor> parts;
  for (int i = 0; i < im.n_inputs(); ++i) parts.push_back(im.constant(i, "input " + std::to_string(i)));
  const int rank = parts[0]->rank();
  const int64_t axis = normalize_axis(im, axis_attr, rank, "axis");
  std::vector<int64_t> dims = parts[0]->dims();
  dims[axis] = 0;
  bool any_float = false;
  for (const Tensor& p : parts) {
    const std::vector<int64_t>& d = p->dims();
    if (static_cast<int>(d.size()) != rank) im.fail("concatenates constants of different ranks");
    for (int j = 0; j < rank; ++j) {
      if (j != axis && d[j] != parts[0]->dims()[j]) im.fail("concatenates constants whose shapes differ off the axis");
    }
    dims[axis] += d[axis];
    any_float |= p->is_float();
  }
  int64_t outer = 1, inner = 1;
  for (int64_t j = 0; j < axis; ++j) outer *= dims[j];
  for (int64_t j = axis + 1; j < rank; ++j) inner *= dims[j];
  (void)count_of(im, dims);
  std::vector<float> floats;
  std::vector<int64_t> ints;
  for (int64_t o = 0; o < outer; ++o) {
    for (const Tensor& p : parts) {
      const int64_t block = p->dims()[axis] * inner;
      if (any_float) {
        const std::vector<float> v = p->floats();
        floats.insert(floats.end(), v.begin() + o * block, v.begin() + (o + 1) * block);
      } else {
        const std::vector<int64_t> v = p->ints(im.where());
        ints.insert(ints.end(), v.begin() + o * block, v.begin() + (o + 1) * block);
      }
    }
  }
  im.set_constant(0, any_float ? ConstTensor::of_floats(std::move(dims), std::move(floats))
                               : ConstTensor::of_ints(std::move(dims), std::move(ints)));
}

// Slice of a constant, with any steps (attributes before opset 10, inputs from 10).
void fold_slice(Importer& im) {
  NodeAttrs a(im);
  std::vector<int64_t> starts = a.get_ints("starts"), ends = a.get_ints("ends"), axes = a.get_ints("axes"), steps;
  a.finish();
  const Tensor data = im.constant(0, "data");
  if (im.opset() >= 10) {
    starts = im.constant_ints(1, "starts");
    ends = im.constant_ints(2, "ends");
    if (im.has_input(3)) axes = im.constant_ints(3, "axes");
    if (im.has_input(4)) steps = im.constant_ints(4, "steps");
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
    im.fail("starts, ends, axes and steps have different lengths");
  }
  const std::vector<int64_t>& d = data->dims();
  // Per axis, the source indices kept.
  std::vector<std::vector<int64_t>> keep(d.size());
  for (size_t j = 0; j < d.size(); ++j)
    for (int64_t i = 0; i < d[j]; ++i) keep[j].push_back(i);
  for (size_t k = 0; k < starts.size(); ++k) {
    const int64_t axis = normalize_axis(im, axes[k], data->rank(), "axis"), dim = d[axis], step = steps[k];
    if (step == 0) im.fail("steps " + dims_text(steps) + " has a 0");
    auto clamp = [&](int64_t i, int64_t low, int64_t high) { return std::clamp<int64_t>(i < 0 ? i + dim : i, low, high); };
    keep[axis].clear();
    if (step > 0) {
      for (int64_t i = clamp(starts[k], 0, dim); i < clamp(ends[k], 0, dim); i += step) keep[axis].push_back(i);
    } else {
      for (int64_t i = clamp(starts[k], -1, dim - 1); i > clamp(ends[k], -1, dim - 1); i += step) keep[axis].push_back(i);
    }
  }
  std::vector<int64_t> dims;
  for (const auto& k : keep) dims.push_back(static_cast<int64_t>(k.size()));
  const int64_t n = count_of(im, dims);
  const std::vector<int64_t> src_strides = strides_of(d), out_strides = strides_of(dims);
  std::vector<int64_t> index(n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t src = 0;
    for (size_t j = 0; j < dims.size(); ++j) src += keep[j][(i / out_strides[j]) % dims[j]] * src_strides[j];
    index[i] = src;
  }
  im.set_constant(0, pick(im, *data, std::move(dims), index));
}

void fold_cast(Importer& im) {
  NodeAttrs a(im);
  const int64_t to = a.get_int("to", 0);
  a.ignore("saturate");
  a.finish();
  const Tensor data = im.constant(0, "input");
  using T = onnx::TensorProto;
  const bool to_float = to == T::FLOAT || to == T::DOUBLE || to == T::FLOAT16 || to == T::BFLOAT16;
  const bool to_int = to == T::INT64 || to == T::INT32 || to == T::INT16 || to == T::INT8 || to == T::UINT64 ||
                      to == T::UINT32 || to == T::UINT16 || to == T::UINT8 || to == T::BOOL;
  if (!to_float && !to_int) im.fail_attr("to", std::to_string(to), "Footprint casts constants to numbers only");
  if (to_float) return im.set_constant(0, ConstTensor::of_floats(data->dims(), data->floats()));
  std::vector<int64_t> ints;
  if (data->is_float()) {
    for (float f : data->floats()) {
      if (!std::isfinite(f) || std::fabs(f) > 9.2e18f) im.fail("casts " + float_text(f) + " to an integer");
      ints.push_back(to == T::BOOL ? f != 0.0f : static_cast<int64_t>(f));
    }
  } else {
    ints = data->ints(im.where());
    if (to == T::BOOL)
      for (int64_t& i : ints) i = i != 0;
  }
  im.set_constant(0, ConstTensor::of_ints(data->dims(), std::move(ints)));
}

void fold_constant_of_shape(Importer& im) {
  NodeAttrs a(im);
  const onnx::TensorProto* value = a.get_tensor("value");
  a.finish();
  std::vector<int64_t> dims = im.constant_ints(0, "input");
  const int64_t n = count_of(im, dims);
  if (!value) return im.set_constant(0, ConstTensor::of_floats(std::move(dims), std::vector<float>(n, 0.0f)));
  const Tensor fill = ConstTensor::from_proto(*value, im.where() + ": value");
  if (fill->n_elems() != 1) im.fail("value has " + std::to_string(fill->n_elems()) + " elements; expected 1");
  if (fill->is_float()) {
    return im.set_constant(0, ConstTensor::of_floats(std::move(dims), std::vector<float>(n, fill->floats()[0])));
  }
  im.set_constant(0, ConstTensor::of_ints(std::move(dims), std::vector<int64_t>(n, fill->ints(im.where())[0])));
}

void fold_range(Importer& im) {
  NodeAttrs(im).finish();
  const Tensor start = im.constant(0, "start"), limit = im.constant(1, "limit"), delta = im.constant(2, "delta");
  for (const Tensor& t : {start, limit, delta})
    if (t->n_elems() != 1) im.fail("start, limit and delta must be scalars");
  if (start->is_float() || limit->is_float() || delta->is_float()) {
    const double s = start->floats()[0], l = limit->floats()[0], d = delta->floats()[0];
    if (d == 0) im.fail("delta is 0");
    const int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((l - s) / d)));
    std::vector<float> out(count_of(im, {n}));
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(s + static_cast<double>(i) * d);
    return im.set_constant(0, ConstTensor::of_floats({n}, std::move(out)));
  }
  const int64_t s = start->ints(im.where())[0], l = limit->ints(im.where())[0], d = delta->ints(im.where())[0];
  if (d == 0) im.fail("delta is 0");
  const double span = (static_cast<double>(l) - static_cast<double>(s)) / static_cast<double>(d);
  const int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(span)));
  std::vector<int64_t> out(count_of(im, {n}));
  for (int64_t i = 0; i < n; ++i) out[i] = s + i * d;
  im.set_constant(0, ConstTensor::of_ints({n}, std::move(out)));
}

}  // namespace footprint
