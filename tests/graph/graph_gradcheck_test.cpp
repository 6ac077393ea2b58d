// Gradients through graphs, by finite differences: values read by several layers (the
// gradients add up), joins of many values, branches, and the reference graph nets at a small size.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "footprint/footprint.hpp"
#include "footprint/gradcheck.hpp"
#include "testing/nets.hpp"

namespace footprint {
namespace {

void expect_gradients_match(const std::string& text) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE(text + "\nthreads " + std::to_string(threads));
    GradCheckOptions options;
    options.plan.threads = threads;
    const GradCheckResult result = check_gradients(parse_net(text, "graph"), options);
    EXPECT_TRUE(result.ok()) << result.report();
    EXPECT_GT(result.checked, 0) << result.report();
  }
}

TEST(GraphGradCheck, ValueReadByThreeLayers) {
  // 'a' feeds a tanh, a three-way add (twice) and a concat.
  expect_gradients_match(
      "input 2 4 4\nconv 3 k=1 name=a\ntanh name=t\nadd in=a,t,a name=s\nconcat in=s,a\n"
      "conv 2 k=3 pad=1\nloss mse");
  // The net input itself read by three layers, one of them a join of all three branches.
  expect_gradients_match(
      "input 3 5 5\nconv 2 k=1 name=p\nconv 2 k=3 pad=1 in=input name=q\n"
      "maxpool k=3 stride=1 pad=1 in=input name=m\nconv 2 k=1 name=r\nconcat in=p,q,r\n"
      "loss mse");
}

// Concats joined in place: the producers write straight into their ranges of one buffer and
// the readers of each view add into one gradient buffer. The gradients are right, and equal to
// those with every concat copying up to the order of float sums (c1 has two readers, whose
// contributions a copying concat adds up before passing them on).
TEST(GraphGradCheck, ConcatsJoinedInPlace) {
  const std::string text =
      "input 3 5 5\nconv 4 k=3 pad=1 name=x0\nbatchnorm\nrelu\nconv 2 k=3 pad=1 name=x1\n"
      "concat in=x0,x1 name=c1\nbatchnorm\nrelu\nconv 2 k=3 pad=1 name=x2\n"
      "concat in=x0,x1,x2 name=c2\nbatchnorm\ntanh\navgpool k=2 stride=1 in=c1 name=m1\n"
      "avgpool k=2 stride=1 in=c2 name=p2\nconcat in=p2,m1\nloss mse";
  const Net net = parse_net(text, "dense");
  PlanOptions options{.batch = 2, .threads = 2, .input_grad = true};
  const Plan p = plan(net, options);
  ASSERT_TRUE(p.layers[net.find_layer("c1")].joined_in_place);
  ASSERT_TRUE(p.layers[net.find_layer("c2")].joined_in_place);
  expect_gradients_match(text);
  GradCheckOptions joined, copied;
  copied.plan.join_concat = false;
  const std::vector<TensorGrad> a = analytic_gradients(net, joined);
  const std::vector<TensorGrad> b = analytic_gradients(net, copied);
  ASSERT_EQ(a.size(), b.size());
  for (size_t t = 0; t < a.size(); ++t) {
    ASSERT_EQ(a[t].values.size(), b[t].values.size());
    for (size_t i = 0; i < a[t].values.size(); ++i) {
      EXPECT_NEAR(a[t].values[i], b[t].values[i], 1e-5 * std::max(1.0f, std::fabs(b[t].values[i])))
          << a[t].name << "[" << i << "]";
    }
  }
}

TEST(GraphGradCheck, ReferenceGraphNetsAtSmallSize) {
  using testing::net_path;
  using testing::read_text;
  using testing::with_input;
  // softmax_xent cannot be checked by the mse checker: swap the loss.
  auto mse = [](std::string text) {
    return text.substr(0, text.find("loss softmax_xent")) + "loss mse\n";
  };
  expect_gradients_match(mse(with_input(read_text(net_path("resnet-block")), "input 4 6 6")));
  expect_gradients_match(mse(with_input(read_text(net_path("inception-block")), "input 5 4 4")));
}

}  // namespace
}  // namespace footprint
