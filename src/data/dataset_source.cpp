// A Dataset in memory (IDX files or synthetic data) seen as a DataSource: reading a sample is
// converting its bytes, and nothing can fail.
#include "footprint/data_source.hpp"
#include "footprint/error.hpp"

namespace footprint {
namespace {

class DatasetSource final : public DataSource {
 public:
  explicit DatasetSource(const Dataset& data) : data_(data) {}

  const std::string& name() const override { return data_.name; }
  int64_t size() const override { return data_.size; }
  int classes() const override { return data_.classes; }

  void check_fits(const Shape& input, int64_t outputs) const override {
    if (!(data_.sample_shape == input)) {
      throw ShapeError(data_.name + ": samples are " + data_.sample_shape.str() +
                       " but the net's input is " + input.str());
    }
    if (data_.classes > outputs) {
      throw ShapeError(data_.name + ": " + std::to_string(data_.classes) +
                       " classes do not fit a net with " + std::to_string(outputs) + " outputs");
    }
  }

  int read(int64_t i, const Shape& input, uint64_t, float* pixels, float*, std::string&) const override {
    // The batch path does the conversion (one place turns bytes into floats); one sample here.
    const int64_t index[1] = {i};
    fill_batch(data_, index, LossKind::none, 0, pixels, nullptr);
    (void)input;
    return label_of(data_, i);
  }

  int label_hint(int64_t i) const override { return label_of(data_, i); }
  int64_t resident_bytes() const override { return data_.bytes(); }
  int64_t read_scratch_bytes(const Shape&) const override { return 0; }

 private:
  const Dataset& data_;
};

}  // namespace

std::unique_ptr<DataSource> dataset_source(const Dataset& data) {
  return std::make_unique<DatasetSource>(data);
}

}  // namespace footprint
