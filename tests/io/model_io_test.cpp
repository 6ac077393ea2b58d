// Saved models: a save/load/restore round trip is bit-exact (weights, optimizer state, step
// count), the bytes follow the documented format, and bad files or failed saves raise IoError
// without touching the previous file.
#include "footprint/model_io.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "footprint/error.hpp"
#include "footprint/net.hpp"
#include "footprint/plan.hpp"
#include "footprint/runtime.hpp"

namespace footprint {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

constexpr int kBatch = 2;
constexpr size_t kHeaderBytes = 20;  // magic | u32 version | u64 payload_bytes

Net small_net(int conv_channels = 4) {
  Net net{Shape{1, 8, 8}};
  net << conv(conv_channels, {.k = 3, .pad = 1}) << relu() << maxpool(2) << fc(3)
      << loss(LossKind::softmax_xent);
  return net;
}

// A net, its plan and a runtime on them; not movable, since the runtime refers to the other two.
struct Model {
  Model(Net net_in, OptimizerKind optimizer, uint64_t seed, Mode mode = Mode::train)
      : net(std::move(net_in)),
        planned(footprint::plan(net, {.batch = kBatch, .mode = mode, .optimizer = optimizer})),
        rt(net, planned, seed) {}
  Net net;
  Plan planned;
  Runtime rt;
};

void fill_batch(Runtime& rt, int round = 0) {
  const int64_t n_inputs = kBatch * 1 * 8 * 8;
  for (int64_t i = 0; i < n_inputs; ++i)
    rt.input()[i] = std::sin(0.37f * static_cast<float>(i + round));
  auto* labels = static_cast<int32_t*>(rt.target());
  labels[0] = 0;
  labels[1] = 2;
}

const OptimizerParams kOptimizerParams{.lr = 0.01f,
                                       .momentum = 0.8f,
                                       .nesterov = true,
                                       .weight_decay = 1e-4f,
                                       .beta1 = 0.85f,
                                       .beta2 = 0.995f,
                                       .eps = 1e-7f};

void train(Runtime& rt, int steps) {
  for (int s = 0; s < steps; ++s) {
    fill_batch(rt, s);
    (void)rt.train_step(kBatch, kOptimizerParams);
  }
}

bool same_bits(const float* a, const float* b, int64_t n_elems) {
  return std::memcmp(a, b, sizeof(float) * static_cast<size_t>(n_elems)) == 0;
}

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Plain bitwise CRC-32 (IEEE, reflected, as zlib computes it), independent of the code under test.
uint32_t reference_crc32(const unsigned char* data, size_t n_bytes) {
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < n_bytes; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

template <typename T>
T get_le(const Bytes& bytes, size_t offset) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    value |= static_cast<T>(static_cast<T>(bytes[offset + i]) << (8 * i));
  return value;
}

// Builds payloads by hand, so the reader is tested on files the writer would never produce.
struct PayloadBuilder {
  Bytes bytes;
  template <typename T>
  PayloadBuilder& put(T value) {
    for (size_t i = 0; i < sizeof(T); ++i)
      bytes.push_back(static_cast<unsigned char>(value >> (8 * i)));
    return *this;
  }
  PayloadBuilder& f32(float value) { return put(std::bit_cast<uint32_t>(value)); }
  PayloadBuilder& str(const std::string& text) {
    put(static_cast<uint32_t>(text.size()));
    bytes.insert(bytes.end(), text.begin(), text.end());
    return *this;
  }
  // Everything up to n_tensors: net text, optimizer kind, 7 params, steps.
  PayloadBuilder& preamble(uint32_t optimizer_kind = 2) {
    str(small_net().to_text()).put(optimizer_kind);
    for (int i = 0; i < 7; ++i) f32(0.5f);
    return put(int64_t{3});
  }
  // Header and checksum around the payload, both correct.
  [[nodiscard]] Bytes file() const {
    Bytes out = {'F', 'P', 'M', 'O', 'D', 'E', 'L', '\0'};
    PayloadBuilder header;
    header.put(uint32_t{1}).put(static_cast<uint64_t>(bytes.size()));
    out.insert(out.end(), header.bytes.begin(), header.bytes.end());
    out.insert(out.end(), bytes.begin(), bytes.end());
    PayloadBuilder crc;
    crc.put(reference_crc32(bytes.data(), bytes.size()));
    out.insert(out.end(), crc.bytes.begin(), crc.bytes.end());
    return out;
  }
};

// The IoError's message; fails the test when load_model does not throw one.
std::string load_error(const fs::path& path) {
  try {
    (void)load_model(path.string());
  } catch (const IoError& e) {
    return e.what();
  }
  ADD_FAILURE() << "load_model(" << path << ") did not throw IoError";
  return "";
}

class ModelIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "footprint_model_io_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr)
        << "mkdtemp " << pattern << ": " << std::strerror(errno);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  [[nodiscard]] fs::path file(const std::string& name) const { return dir_ / name; }

  fs::path dir_;
};

TEST_F(ModelIoTest, RoundTripIsBitExact) {
  Model a(small_net(), OptimizerKind::adam, /*seed=*/7);
  train(a.rt, /*steps=*/3);
  const fs::path path = file("model.fpm");
  save_model(path.string(), a.rt, kOptimizerParams);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));

  const SavedModel saved = load_model(path.string());
  EXPECT_EQ(parse_net(saved.net_text, "saved").to_text(), a.net.to_text());
  EXPECT_EQ(saved.optimizer, OptimizerKind::adam);
  EXPECT_EQ(saved.optimizer_steps, 3);
  EXPECT_EQ(saved.optimizer_params.lr, kOptimizerParams.lr);
  EXPECT_EQ(saved.optimizer_params.momentum, kOptimizerParams.momentum);
  EXPECT_EQ(saved.optimizer_params.nesterov, kOptimizerParams.nesterov);
  EXPECT_EQ(saved.optimizer_params.weight_decay, kOptimizerParams.weight_decay);
  EXPECT_EQ(saved.optimizer_params.beta1, kOptimizerParams.beta1);
  EXPECT_EQ(saved.optimizer_params.beta2, kOptimizerParams.beta2);
  EXPECT_EQ(saved.optimizer_params.eps, kOptimizerParams.eps);
  ASSERT_EQ(saved.tensors.size(), a.rt.parameters().size());

  Model b(parse_net(saved.net_text, "saved"), OptimizerKind::adam, /*seed=*/99);
  const std::vector<ParamView>& pa = a.rt.parameters();
  const std::vector<ParamView>& pb = b.rt.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  ASSERT_FALSE(same_bits(pa[0].data, pb[0].data, pa[0].n_elems)) << "seeds gave equal weights";
  restore_parameters(saved, b.rt);

  EXPECT_EQ(b.rt.optimizer_steps(), a.rt.optimizer_steps());
  bool any_state_nonzero = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    SCOPED_TRACE(pa[i].name);
    EXPECT_EQ(pa[i].name, pb[i].name);
    ASSERT_EQ(pa[i].n_elems, pb[i].n_elems);
    EXPECT_TRUE(same_bits(pa[i].data, pb[i].data, pa[i].n_elems));
    ASSERT_EQ(pa[i].optimizer_state.size(), pb[i].optimizer_state.size());
    for (size_t s = 0; s < pa[i].optimizer_state.size(); ++s) {
      EXPECT_TRUE(same_bits(pa[i].optimizer_state[s], pb[i].optimizer_state[s], pa[i].n_elems));
      for (int64_t e = 0; e < pa[i].n_elems; ++e)
        any_state_nonzero |= pa[i].optimizer_state[s][e] != 0;
    }
  }
  EXPECT_TRUE(any_state_nonzero)
      << "training left the Adam moments at zero; the test proves little";

  // Same weights give the same output; same state and step count give the same next step.
  fill_batch(a.rt, 5);
  fill_batch(b.rt, 5);
  a.rt.forward(kBatch, /*training=*/false);
  b.rt.forward(kBatch, /*training=*/false);
  EXPECT_TRUE(same_bits(a.rt.output(), b.rt.output(), kBatch * 3));
  train(a.rt, 1);
  train(b.rt, 1);
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(same_bits(pa[i].data, pb[i].data, pa[i].n_elems)) << pa[i].name << " after a step";
  }
}

TEST_F(ModelIoTest, BytesFollowTheDocumentedFormat) {
  Model a(small_net(), OptimizerKind::momentum, /*seed=*/7);
  train(a.rt, 2);
  const fs::path path = file("model.fpm");
  save_model(path.string(), a.rt, kOptimizerParams,
             {.seed = 5, .steps = 2, .forward_calls = 9, .batch = 4});
  const Bytes bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), kHeaderBytes + 4);

  EXPECT_EQ(std::memcmp(bytes.data(), "FPMODEL\0", 8), 0);
  EXPECT_EQ(get_le<uint32_t>(bytes, 8), 3u);
  // The training state, then the labels (none: a count of 0, no normalisation, 6 floats),
  // close the payload, just before the checksum.
  const size_t labels = 4 + 4 + 6 * 4;
  EXPECT_EQ(get_le<uint64_t>(bytes, bytes.size() - 4 - labels - 32), 5u);
  EXPECT_EQ(get_le<int64_t>(bytes, bytes.size() - 4 - labels - 24), 2);
  EXPECT_EQ(get_le<int64_t>(bytes, bytes.size() - 4 - labels - 16), 9);
  EXPECT_EQ(get_le<int64_t>(bytes, bytes.size() - 4 - labels - 8), 4);
  EXPECT_EQ(get_le<uint32_t>(bytes, bytes.size() - 4 - labels), 0u);
  EXPECT_EQ(get_le<uint32_t>(bytes, bytes.size() - 4 - labels + 4), 0u);
  const uint64_t n_payload_bytes = get_le<uint64_t>(bytes, 12);
  EXPECT_EQ(n_payload_bytes, bytes.size() - kHeaderBytes - 4);
  EXPECT_EQ(get_le<uint32_t>(bytes, bytes.size() - 4),
            reference_crc32(bytes.data() + kHeaderBytes, bytes.size() - kHeaderBytes - 4));

  // The payload opens with the net text, then the optimizer kind, its params and the steps.
  const std::string text = a.net.to_text();
  size_t at = kHeaderBytes;
  ASSERT_EQ(get_le<uint32_t>(bytes, at), text.size());
  EXPECT_EQ(std::string(bytes.begin() + at + 4, bytes.begin() + at + 4 + text.size()), text);
  at += 4 + text.size();
  EXPECT_EQ(get_le<uint32_t>(bytes, at), static_cast<uint32_t>(OptimizerKind::momentum));
  at += 4;
  EXPECT_EQ(std::bit_cast<float>(get_le<uint32_t>(bytes, at)), kOptimizerParams.lr);
  EXPECT_EQ(std::bit_cast<float>(get_le<uint32_t>(bytes, at + 8)), 1.0f);  // nesterov
  at += 7 * 4;
  EXPECT_EQ(get_le<int64_t>(bytes, at), 2);
  at += 8;
  EXPECT_EQ(get_le<uint32_t>(bytes, at), a.rt.parameters().size());
  at += 4;
  const ParamView& first = a.rt.parameters()[0];
  ASSERT_EQ(get_le<uint32_t>(bytes, at), first.name.size());
  EXPECT_EQ(std::string(bytes.begin() + at + 4, bytes.begin() + at + 4 + first.name.size()),
            first.name);
  at += 4 + first.name.size();
  EXPECT_EQ(get_le<uint64_t>(bytes, at), static_cast<uint64_t>(first.n_elems));
  EXPECT_EQ(get_le<uint32_t>(bytes, at + 8), 1u);  // momentum keeps one state tensor
  EXPECT_EQ(std::memcmp(bytes.data() + at + 12, first.data, 4 * first.n_elems), 0);
}

TEST_F(ModelIoTest, HandBuiltFileLoads) {
  PayloadBuilder p;
  p.preamble().put(uint32_t{1}).str("w").put(uint64_t{2}).put(uint32_t{1});
  p.f32(1.5f).f32(-2.0f).f32(0.25f).f32(0.125f);
  const fs::path path = file("hand.fpm");
  write_bytes(path, p.file());
  const SavedModel saved = load_model(path.string());
  EXPECT_EQ(saved.optimizer, OptimizerKind::adam);
  EXPECT_EQ(saved.optimizer_steps, 3);
  EXPECT_EQ(saved.optimizer_params.beta2, 0.5f);
  EXPECT_TRUE(saved.optimizer_params.nesterov);
  ASSERT_EQ(saved.tensors.size(), 1u);
  EXPECT_EQ(saved.tensors[0].name, "w");
  EXPECT_EQ(saved.tensors[0].data, (std::vector<float>{1.5f, -2.0f}));
  ASSERT_EQ(saved.tensors[0].optimizer_state.size(), 1u);
  EXPECT_EQ(saved.tensors[0].optimizer_state[0], (std::vector<float>{0.25f, 0.125f}));
}

TEST_F(ModelIoTest, SecondSaveReplacesTheFirst) {
  Model a(small_net(), OptimizerKind::adam, /*seed=*/7);
  const fs::path path = file("model.fpm");
  train(a.rt, 1);
  save_model(path.string(), a.rt, kOptimizerParams);
  train(a.rt, 2);
  save_model(path.string(), a.rt, kOptimizerParams);
  EXPECT_EQ(load_model(path.string()).optimizer_steps, 3);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
}

TEST_F(ModelIoTest, TruncatedFilesAreRejected) {
  Model a(small_net(), OptimizerKind::adam, /*seed=*/7);
  train(a.rt, 1);
  const fs::path path = file("model.fpm");
  save_model(path.string(), a.rt, kOptimizerParams);
  const Bytes bytes = read_bytes(path);
  const fs::path cut_path = file("cut.fpm");
  for (size_t cut :
       {size_t{0}, size_t{3}, size_t{8}, size_t{11}, size_t{19}, size_t{20}, size_t{23}, size_t{24},
        size_t{40}, bytes.size() / 2, bytes.size() - 4, bytes.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut) + " of " + std::to_string(bytes.size()));
    write_bytes(cut_path, Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)));
    const std::string message = load_error(cut_path);
    EXPECT_NE(message.find(cut_path.string()), std::string::npos) << message;
    EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  }
}

TEST_F(ModelIoTest, ExtraBytesAreRejected) {
  Model a(small_net(), OptimizerKind::sgd, /*seed=*/7);
  const fs::path path = file("model.fpm");
  save_model(path.string(), a.rt, kOptimizerParams);
  Bytes bytes = read_bytes(path);
  bytes.push_back(0);
  write_bytes(path, bytes);
  EXPECT_NE(load_error(path).find("payload bytes"), std::string::npos);
}

TEST_F(ModelIoTest, FlippedByteFailsTheChecksum) {
  Model a(small_net(), OptimizerKind::adam, /*seed=*/7);
  train(a.rt, 1);
  const fs::path path = file("model.fpm");
  save_model(path.string(), a.rt, kOptimizerParams);
  const Bytes bytes = read_bytes(path);
  const fs::path bad_path = file("bad.fpm");
  // First payload byte, one in the weights, the last payload byte, the checksum itself.
  for (size_t at : {kHeaderBytes, bytes.size() / 2, bytes.size() - 5, bytes.size() - 1}) {
    SCOPED_TRACE("byte " + std::to_string(at));
    Bytes bad = bytes;
    bad[at] ^= 0x10;
    write_bytes(bad_path, bad);
    const std::string message = load_error(bad_path);
    EXPECT_NE(message.find("checksum"), std::string::npos) << message;
  }
}

TEST_F(ModelIoTest, OtherVersionIsRejected) {
  Model a(small_net(), OptimizerKind::sgd, /*seed=*/7);
  const fs::path path = file("model.fpm");
  save_model(path.string(), a.rt, kOptimizerParams);
  Bytes bytes = read_bytes(path);
  bytes[8] = 4;
  write_bytes(path, bytes);
  EXPECT_NE(load_error(path).find("unsupported version 4; this build reads versions 1 to 3"),
            std::string::npos) << load_error(path);
}

TEST_F(ModelIoTest, ClassNamesAndNormalisationTravelWithTheModel) {
  Model a(small_net(), OptimizerKind::sgd, /*seed=*/7);
  const fs::path path = file("labelled.fpm");
  const ModelLabels labels{.class_names = {"0_t-shirt", "1_trouser", "\xe9t\xe9"},
                           .has_normalisation = true,
                           .normalisation = {.mean = {0.25f, 0.5f, 0.75f}, .std = {0.1f, 0.2f, 0.3f}}};
  save_model(path.string(), a.rt, kOptimizerParams, {}, labels);
  const SavedModel saved = load_model(path.string());
  EXPECT_EQ(saved.labels.class_names, labels.class_names);
  EXPECT_TRUE(saved.labels.has_normalisation);
  EXPECT_EQ(saved.labels.normalisation.mean, labels.normalisation.mean);
  EXPECT_EQ(saved.labels.normalisation.std, labels.normalisation.std);
  // A version-2 file (the same bytes without the labels, its version and length fixed) loads
  // with no labels.
  Bytes bytes = read_bytes(path);
  size_t label_bytes = 4 + 4 + 6 * 4;
  for (const std::string& name : labels.class_names) label_bytes += 4 + name.size();
  bytes.erase(bytes.end() - 4 - static_cast<std::ptrdiff_t>(label_bytes), bytes.end() - 4);
  bytes[8] = 2;
  const uint64_t payload = bytes.size() - kHeaderBytes - 4;
  for (int i = 0; i < 8; ++i) bytes[12 + i] = static_cast<unsigned char>(payload >> (8 * i));
  const uint32_t crc = reference_crc32(bytes.data() + kHeaderBytes, payload);
  for (int i = 0; i < 4; ++i) bytes[bytes.size() - 4 + i] = static_cast<unsigned char>(crc >> (8 * i));
  write_bytes(path, bytes);
  const SavedModel old = load_model(path.string());
  EXPECT_TRUE(old.labels.class_names.empty());
  EXPECT_FALSE(old.labels.has_normalisation);
  EXPECT_EQ(old.tensors.size(), saved.tensors.size());
}

TEST_F(ModelIoTest, ForeignFilesAreRejected) {
  const fs::path text_path = file("six-block.net");
  std::ofstream(text_path) << "input 1 8 8\nconv 4 k=3 pad=1\nrelu\n";
  std::string message = load_error(text_path);
  EXPECT_NE(message.find("not a Footprint model"), std::string::npos) << message;
  EXPECT_NE(message.find(text_path.string()), std::string::npos) << message;

  const fs::path short_path = file("short.txt");
  std::ofstream(short_path) << "hi";
  message = load_error(short_path);
  EXPECT_NE(message.find("not a Footprint model"), std::string::npos) << message;
}

TEST_F(ModelIoTest, MissingFileOrDirectoryIsRejected) {
  const fs::path missing = file("missing.fpm");
  std::string message = load_error(missing);
  EXPECT_NE(message.find(missing.string()), std::string::npos) << message;
  message = load_error(dir_);
  EXPECT_NE(message.find(dir_.string()), std::string::npos) << message;
}

TEST_F(ModelIoTest, CorruptCountsAreRejectedWithoutReadingPastTheEnd) {
  struct Case {
    const char* what;
    PayloadBuilder payload;
  };
  std::vector<Case> cases;
  cases.push_back({"huge net text", PayloadBuilder{}.put(uint32_t{0xffffffffu}).put(uint32_t{0})});
  cases.push_back(
      {"bad optimizer kind", PayloadBuilder{}.preamble(/*optimizer_kind=*/9).put(uint32_t{0})});
  cases.push_back({"huge tensor count", PayloadBuilder{}.preamble().put(uint32_t{0xffffffffu})});
  cases.push_back({"huge n_elems", PayloadBuilder{}
                                       .preamble()
                                       .put(uint32_t{1})
                                       .str("w")
                                       .put(uint64_t{1} << 62)
                                       .put(uint32_t{0})
                                       .f32(1.0f)});
  cases.push_back({"n_elems past the end", PayloadBuilder{}
                                               .preamble()
                                               .put(uint32_t{1})
                                               .str("w")
                                               .put(uint64_t{3})
                                               .put(uint32_t{0})
                                               .f32(1.0f)});
  // Enough floats for all 1 + 7 copies, so only the cap on state tensors can refuse it.
  PayloadBuilder many_states;
  many_states.preamble().put(uint32_t{1}).str("w").put(uint64_t{1}).put(uint32_t{7});
  for (int copy = 0; copy < 8; ++copy) many_states.f32(1.0f);
  cases.push_back({"too many state tensors", many_states});
  cases.push_back(
      {"huge name",
       PayloadBuilder{}.preamble().put(uint32_t{1}).put(uint32_t{0x7fffffffu}).put(uint64_t{0})});
  cases.push_back(
      {"stops inside the preamble", PayloadBuilder{}.str("input 1 1 1\n").put(uint32_t{0})});
  cases.push_back(
      {"trailing bytes", PayloadBuilder{}.preamble().put(uint32_t{0}).put(uint32_t{0})});
  const fs::path path = file("corrupt.fpm");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    write_bytes(path, c.payload.file());
    const std::string message = load_error(path);
    EXPECT_NE(message.find("corrupt"), std::string::npos) << message;
  }
}

TEST_F(ModelIoTest, SaveIntoMissingDirectoryThrows) {
  Model a(small_net(), OptimizerKind::sgd, /*seed=*/7);
  const fs::path path = file("no/such/dir/model.fpm");
  try {
    save_model(path.string(), a.rt, kOptimizerParams);
    FAIL() << "save_model into a missing directory did not throw";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

TEST_F(ModelIoTest, FailedSaveLeavesThePreviousFile) {
  Model a(small_net(), OptimizerKind::adam, /*seed=*/7);
  train(a.rt, 1);
  const fs::path path = file("model.fpm");
  save_model(path.string(), a.rt, kOptimizerParams);
  const Bytes before = read_bytes(path);

  // A directory squatting on NAME.tmp makes the next save fail when it opens the tmp file.
  train(a.rt, 2);
  const fs::path tmp = path.string() + ".tmp";
  fs::create_directory(tmp);
  EXPECT_THROW(save_model(path.string(), a.rt, kOptimizerParams), IoError);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_TRUE(fs::is_directory(tmp)) << "the failed save removed a directory it did not create";
  EXPECT_EQ(load_model(path.string()).optimizer_steps, 1);
}

TEST_F(ModelIoTest, RestoreIntoAnotherNetNamesTheTensor) {
  Model a(small_net(/*conv_channels=*/4), OptimizerKind::adam, /*seed=*/7);
  const fs::path path = file("model.fpm");
  save_model(path.string(), a.rt, kOptimizerParams);
  const SavedModel saved = load_model(path.string());

  // Same names, other sizes: the message names the tensor and both sizes.
  Model wider(small_net(/*conv_channels=*/8), OptimizerKind::adam, /*seed=*/9);
  const ParamView& conv_weight = wider.rt.parameters()[0];
  const std::vector<float> untouched(conv_weight.data, conv_weight.data + conv_weight.n_elems);
  try {
    restore_parameters(saved, wider.rt);
    FAIL() << "restore into a wider net did not throw";
  } catch (const IoError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'" + conv_weight.name + "' needs 72 floats, the file has 36"),
              std::string::npos)
        << message;
  }
  EXPECT_TRUE(same_bits(conv_weight.data, untouched.data(), conv_weight.n_elems))
      << "a failed restore changed the runtime";

  // Other names: the message names the tensor the file lacks.
  Net renamed{Shape{1, 8, 8}};
  renamed << conv(4, {.k = 3, .pad = 1, .name = "stem"}) << relu() << maxpool(2) << fc(3)
          << loss(LossKind::softmax_xent);
  Model other(std::move(renamed), OptimizerKind::adam, /*seed=*/9);
  try {
    restore_parameters(saved, other.rt);
    FAIL() << "restore into a renamed net did not throw";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("'stem.weight'"), std::string::npos) << e.what();
  }
}

TEST_F(ModelIoTest, RestoreIntoAnotherOptimizerCopiesWeightsOnly) {
  Model a(small_net(), OptimizerKind::adam, /*seed=*/7);
  train(a.rt, 2);
  const fs::path path = file("model.fpm");
  save_model(path.string(), a.rt, kOptimizerParams);
  const SavedModel saved = load_model(path.string());

  Model b(small_net(), OptimizerKind::momentum, /*seed=*/9);
  restore_parameters(saved, b.rt);
  EXPECT_EQ(b.rt.optimizer_steps(), 0);
  for (size_t i = 0; i < a.rt.parameters().size(); ++i) {
    const ParamView& pa = a.rt.parameters()[i];
    const ParamView& pb = b.rt.parameters()[i];
    EXPECT_TRUE(same_bits(pa.data, pb.data, pa.n_elems)) << pa.name;
    for (const float* state : pb.optimizer_state) {
      for (int64_t e = 0; e < pb.n_elems; ++e) ASSERT_EQ(state[e], 0.0f) << pb.name;
    }
  }

  Model infer(small_net(), OptimizerKind::adam, /*seed=*/9, Mode::infer);
  restore_parameters(saved, infer.rt);
  EXPECT_TRUE(same_bits(a.rt.parameters()[0].data, infer.rt.parameters()[0].data,
                        a.rt.parameters()[0].n_elems));
}

}  // namespace
}  // namespace footprint
