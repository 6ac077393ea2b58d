// Some samples of another source, in a given order: how a validation split is carved from a
// training folder without copying anything.
#include "footprint/data_source.hpp"

namespace footprint {
namespace {

class SubsetSource final : public DataSource {
 public:
  SubsetSource(std::shared_ptr<const DataSource> source, std::vector<int64_t> indices, std::string name)
      : source_(std::move(source)), indices_(std::move(indices)), name_(std::move(name)) {}

  const std::string& name() const override { return name_; }
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  int classes() const override { return source_->classes(); }
  std::vector<std::string> class_names() const override { return source_->class_names(); }
  bool float_targets() const override { return source_->float_targets(); }
  int64_t target_elems() const override { return source_->target_elems(); }
  void check_fits(const Shape& input, int64_t outputs) const override { source_->check_fits(input, outputs); }
  int read(int64_t i, const Shape& input, uint64_t augment, float* pixels, float* target,
           std::string& error) const override {
    return source_->read(indices_[static_cast<size_t>(i)], input, augment, pixels, target, error);
  }
  int label_hint(int64_t i) const override { return source_->label_hint(indices_[static_cast<size_t>(i)]); }
  // The whole source is counted where it is owned; this adds only the index list.
  int64_t resident_bytes() const override {
    return static_cast<int64_t>(indices_.capacity() * sizeof(int64_t));
  }
  int64_t read_scratch_bytes(const Shape& input) const override { return source_->read_scratch_bytes(input); }

 private:
  std::shared_ptr<const DataSource> source_;
  std::vector<int64_t> indices_;
  std::string name_;
};

}  // namespace

std::unique_ptr<DataSource> subset_source(std::shared_ptr<const DataSource> source,
                                          std::vector<int64_t> indices, std::string name) {
  return std::make_unique<SubsetSource>(std::move(source), std::move(indices), std::move(name));
}

}  // namespace footprint
