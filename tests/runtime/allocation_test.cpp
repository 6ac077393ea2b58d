// Nothing allocates while steps run: this binary replaces the C library's allocation entry points
// (malloc, calloc, realloc, aligned allocation) and mmap for the whole process, OpenBLAS and
// libstdc++ included, and counts every call made while counting is on. Every layer kind and every
// optimizer trains and infers with zero calls during steps; what a runtime allocates between its
// creation and its destruction besides its two planned blocks is listed when it is not nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <malloc.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "footprint/footprint.hpp"
#include "layers/layer.hpp"

#if !defined(__SANITIZE_ADDRESS__)
namespace {
std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_calls{0};
std::atomic<int64_t> g_bytes{0};
// The first allocations seen, for the failure message (no allocation may happen in here).
constexpr int kLogged = 16;
std::atomic<int64_t> g_logged_bytes[kLogged];
std::atomic<char> g_logged_kind[kLogged];

void seen(char kind, size_t bytes) {
  if (!g_counting.load(std::memory_order_relaxed)) return;
  const int64_t index = g_calls.fetch_add(1);
  g_bytes.fetch_add(static_cast<int64_t>(bytes));
  if (index < kLogged) {
    g_logged_bytes[index] = static_cast<int64_t>(bytes);
    g_logged_kind[index] = kind;
  }
}
}  // namespace

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);

void* malloc(size_t size) {
  seen('m', size);
  return __libc_malloc(size);
}
void* calloc(size_t n, size_t size) {
  seen('c', n * size);
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t size) {
  seen('r', size);
  return __libc_realloc(p, size);
}
void* memalign(size_t alignment, size_t size) {
  seen('a', size);
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) {
  seen('a', size);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  seen('a', size);
  void* p = __libc_memalign(alignment, size);
  if (!p) return 12;  // ENOMEM
  *out = p;
  return 0;
}
void free(void* p) { __libc_free(p); }
void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  seen('p', length);
  return reinterpret_cast<void*>(syscall(SYS_mmap, addr, length, prot, flags, fd, offset));
}
}  // extern "C"
#endif

namespace footprint {
namespace {

struct Counted {
  int64_t calls = 0, bytes = 0;
  std::string first;  // "malloc 4096, mmap 33554432, ..."
};

template <typename Work>
Counted count(Work&& work) {
#if defined(__SANITIZE_ADDRESS__)
  work();
  return {};
#else
  g_calls = 0;
  g_bytes = 0;
  g_counting = true;
  work();
  g_counting = false;
  Counted c{g_calls.load(), g_bytes.load(), ""};
  for (int i = 0; i < std::min<int64_t>(c.calls, kLogged); ++i) {
    const char* kind = g_logged_kind[i] == 'm'   ? "malloc"
                       : g_logged_kind[i] == 'c' ? "calloc"
                       : g_logged_kind[i] == 'r' ? "realloc"
                       : g_logged_kind[i] == 'a' ? "aligned"
                                                 : "mmap";
    c.first += std::string(i ? ", " : "") + kind + " " + std::to_string(g_logged_bytes[i].load());
  }
  return c;
#endif
}

// One small net per layer kind: the keyword alone where it makes a layer, else options.
std::string net_for(const std::string& op) {
  static const std::pair<const char*, const char*> kWithOptions[] = {
      {"conv", "conv 4 k=3 pad=1"}, {"maxpool", "maxpool k=2"}, {"avgpool", "avgpool k=2"},
      {"fc", "fc 5"}, {"shuffle", "shuffle groups=2"}, {"slice", "slice start=1 end=3"},
      {"convtranspose", "convtranspose 3 k=3 stride=2"}, {"dropout", "dropout p=0.3"},
  };
  std::string line = op;
  for (const auto& [name, text] : kWithOptions)
    if (op == name) line = text;
  int min_inputs = 1;  // the layers that need options all read one value
  try {
    min_inputs = make_layer(LayerSpec{.op = op})->arity().min;
  } catch (const Error&) {
  }
  if (min_inputs >= 2) {
    return "input 4 6 6\nconv 4 k=1 name=a\nconv 4 k=3 pad=1 in=input name=b\n" + line +
           " in=a,b\nbatchnorm\nfc 3\nloss mse\n";
  }
  return "input 4 6 6\nconv 4 k=3 pad=1\n" + line + "\nfc 3\nloss mse\n";
}

// The counting itself works: a vector, an aligned block and a mapping are all seen.
TEST(Allocation, TheInterposerSeesEveryKindOfAllocation) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer owns the allocator";
#endif
  const Counted c = count([] {
    std::vector<float> v(1000, 1.0f);
    void* aligned = std::aligned_alloc(64, 4096);
    void* mapped = ::mmap(nullptr, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ::munmap(mapped, 1 << 16);
    std::free(aligned);
    EXPECT_EQ(v[999], 1.0f);
  });
  EXPECT_EQ(c.calls, 3) << c.first;
  EXPECT_EQ(c.bytes, 4000 + 4096 + (1 << 16)) << c.first;
}

TEST(Allocation, StepsAllocateNothingForEveryLayerAndOptimizer) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer owns the allocator";
#endif
  for (const std::string& op : layer_ops()) {
    const std::string text = net_for(op);
    const Net net = parse_net(text, op + ".net");
    for (OptimizerKind optimizer : {OptimizerKind::sgd, OptimizerKind::momentum,
                                    OptimizerKind::adam, OptimizerKind::adamw}) {
      SCOPED_TRACE(text + "optimizer " + optimizer_name(optimizer));
      const Plan p = plan(net, {.batch = 3, .optimizer = optimizer, .threads = 2});
      Runtime rt(net, p, 1);
      for (int64_t i = 0; i < 3 * net.input_shape().n_elems(); ++i) rt.input()[i] = 0.01f * (i % 97);
      for (int64_t i = 0; i < 3 * net.output_shape().n_elems(); ++i)
        static_cast<float*>(rt.target())[i] = 0.1f;
      (void)rt.train_step(3, {.lr = 0.01f});  // warm-up: OpenBLAS sets itself up on first use
      const Counted during = count([&] {
        for (int step = 0; step < 2; ++step) (void)rt.train_step(3, {.lr = 0.01f});
        rt.forward(2, /*training=*/false);
      });
      EXPECT_EQ(during.calls, 0) << during.bytes << " bytes: " << during.first;
    }
  }
}

// Every convolution path at sizes that divide nothing evenly: Winograd (blocks of 42 and 126
// tiles), direct, depthwise, 5x5 and 1x1 through the GEMM, strided. OpenBLAS's AVX-512 kernel
// for small products mallocs on every call whose N is not a multiple of 16, which Winograd's
// blocks of tiles once were; a CPU without AVX-512 takes other kernels and cannot tell.
TEST(Allocation, EveryConvolutionPathAllocatesNothingAtAwkwardSizes) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer owns the allocator";
#endif
  const std::string text =
      "input 3 13 11\nconv 24 k=3 pad=1\nrelu\nconv 20 k=3 pad=1\nconv 20 k=3 pad=1 groups=20\n"
      "conv 17 k=5 pad=2\nconv 18 k=1\nconv 18 k=3 stride=2 pad=1\nfc 7\nloss mse\n";
  const Net net = parse_net(text, "convs.net");
  for (int batch : {1, 3}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE("batch " + std::to_string(batch) + ", threads " + std::to_string(threads));
      const Plan p = plan(net, {.batch = batch, .optimizer = OptimizerKind::adam, .threads = threads});
      Runtime rt(net, p, 1);
      for (int64_t i = 0; i < batch * net.input_shape().n_elems(); ++i) rt.input()[i] = 0.01f * (i % 89);
      for (int64_t i = 0; i < batch * net.output_shape().n_elems(); ++i)
        static_cast<float*>(rt.target())[i] = 0.1f;
      // Warm-up: OpenBLAS maps its buffer on a thread's first product large enough to need it.
      (void)rt.train_step(batch, {.lr = 0.01f});
      rt.forward(batch, /*training=*/false);
      const Counted during = count([&] {
        for (int step = 0; step < 2; ++step) (void)rt.train_step(batch, {.lr = 0.01f});
        rt.forward(batch, /*training=*/false);
      });
      EXPECT_EQ(during.calls, 0) << during.bytes << " bytes: " << during.first;
    }
  }
}

// From a runtime's creation to its end, the only large allocations are the arena and the
// persistent block (and what OpenBLAS and the thread pool set up once, listed if it shows).
TEST(Allocation, ARuntimeAllocatesItsTwoBlocksAndLittleElse) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer owns the allocator";
#endif
  const Net net = parse_net(net_for("conv"), "conv.net");
  const Plan p = plan(net, {.batch = 3, .threads = 2});
  { Runtime warm(net, p, 1); (void)warm.train_step(3, {}); }  // OpenBLAS's one-time set-up
  const Counted life = count([&] {
    Runtime rt(net, p, 1);
    (void)rt.train_step(3, {});
  });
  // Arena, persistent block, thread pool and bindings: a fixed handful, not one per step.
  EXPECT_LE(life.calls, 64) << life.first;
  EXPECT_LE(life.bytes, p.total_bytes + p.outside_bytes()) << life.first;
}

}  // namespace
}  // namespace footprint
