// Gradients through graphs, by finite differences: values read by several layers (the
// gradients add up), joins of many values, branches, and the reference graph nets at a small size.
#include <gtest/gtest.h>

#include "footprint/footprint.hpp"
#include "testing/gradcheck.hpp"
#include "testing/nets.hpp"

namespace footprint {
namespace {

void expect_gradients_match(const std::string& text) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE(text + "\nthreads " + std::to_string(threads));
    test::GradCheckOptions options;
    options.plan.threads = threads;
    const test::GradCheckResult result = test::check_gradients(parse_net(text, "graph"), options);
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
