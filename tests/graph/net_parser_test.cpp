// The .net parser and the Net builder: every reference net parses; bad input gives one clear
// line with the file, the line and what was expected.
#include <gtest/gtest.h>

#include "footprint/footprint.hpp"
#include "testing/nets.hpp"

namespace footprint {
namespace {

using testing::net_path;

std::string error_of(const std::string& text) {
  try {
    (void)parse_net(text, "bad.net");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(NetParser, EveryReferenceNetParses) {
  for (const char* name : {"six-block-512", "lenet", "fashion-cnn", "vgg19-style", "resnet-block",
                           "inception-block"}) {
    SCOPED_TRACE(name);
    const Net net = load_net_file(net_path(name));
    EXPECT_GT(net.n_layers(), 0);
  }
  const Net vgg = load_net_file(net_path("vgg19-style"));
  EXPECT_EQ(vgg.node(vgg.find_layer("conv4_2")).out_shape, (Shape{512, 64, 64}));
  EXPECT_EQ(vgg.loss_kind(), LossKind::none);
}

TEST(NetParser, UnnamedLayersGetOpAndIndex) {
  const Net net = parse_net("input 1 4 4\nconv 2 k=3 pad=1\nrelu name=r\nfc 3\n", "t.net");
  EXPECT_EQ(net.node(0).spec.name, "conv0");
  EXPECT_EQ(net.node(1).spec.name, "r");
  EXPECT_EQ(net.node(2).spec.name, "fc2");
}

TEST(NetParser, TextRoundTrips) {
  const Net net = load_net_file(net_path("fashion-cnn"));
  const Net again = parse_net(net.to_text(), "again");
  EXPECT_EQ(net.to_text(), again.to_text());
  EXPECT_EQ(net.n_params(), again.n_params());
}

TEST(NetParser, BuilderMatchesTheFile) {
  Net built{Shape{3, 512, 512}};
  for (int block = 0, channels = 6; block < 6; ++block, channels *= 2)
    built << conv(channels, {.k = 3, .pad = 1}) << tanh() << avgpool(2);
  built << fc(10) << loss(LossKind::mse);
  const Net parsed = load_net_file(net_path("six-block-512"));
  EXPECT_EQ(built.to_text(), parsed.to_text());
}

// Layers read named values; the text form writes in= only where a layer does not read the
// previous value, and rebuilds the same graph.
TEST(NetParser, LayersReadNamedValues) {
  const Net net = load_net_file(net_path("resnet-block"));
  const int proj = net.find_layer("proj"), sum = net.find_layer("sum");
  EXPECT_EQ(net.node(proj).inputs, std::vector<int>{0});  // the net input
  EXPECT_EQ(net.node(sum).inputs,
            (std::vector<int>{net.find_layer("bn2") + 1, net.find_layer("proj_bn") + 1}));
  EXPECT_EQ(net.node(sum).out_shape, (Shape{128, 28, 28}));
  const std::string text = net.to_text();
  EXPECT_NE(text.find("conv 128 bias=false k=1 stride=2 in=input name=proj\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("add in=bn2,proj_bn name=sum\nrelu name=out\n"), std::string::npos) << text;
  EXPECT_EQ(parse_net(text, "again").to_text(), text);

  const Net inception = load_net_file(net_path("inception-block"));
  EXPECT_EQ(inception.node(inception.find_layer("join")).inputs.size(), 4u);
  EXPECT_EQ(inception.node(inception.find_layer("join")).out_shape, (Shape{256, 28, 28}));
  // Every branch reads the input; nothing else does.
  EXPECT_EQ(inception.consumers()[0].size(), 4u);
}

// The first form of a join, "add FROM", is the previous value and FROM.
TEST(NetParser, OldJoinFormStillReads) {
  const Net net = parse_net("input 2 4 4\nconv 2 k=1 name=a\ntanh\nadd a\nconcat a\n", "old.net");
  EXPECT_EQ(net.node(2).inputs, (std::vector<int>{2, 1}));
  EXPECT_EQ(net.node(3).inputs, (std::vector<int>{3, 1}));
  EXPECT_EQ(net.node(3).out_shape, (Shape{4, 4, 4}));
}

TEST(NetParser, OutputsByName) {
  const Net net = parse_net(
      "input 2 4 4\nconv 3 k=1 name=a\nconv 5 k=1 in=input name=b\noutput b,a\n", "out.net");
  EXPECT_EQ(net.outputs(), (std::vector<int>{2, 1}));
  EXPECT_EQ(net.output_shape(), (Shape{5, 4, 4}));
  EXPECT_EQ(parse_net(net.to_text(), "again").outputs(), net.outputs());
  EXPECT_NE(net.to_text().find("output b,a\n"), std::string::npos) << net.to_text();
  EXPECT_NE(net.fingerprint(), parse_net("input 2 4 4\nconv 3 k=1 name=a\nconv 5 k=1 in=input "
                                         "name=b\noutput a,b\n", "other.net").fingerprint());
}

TEST(NetParser, GraphErrorsNameTheValue) {
  EXPECT_EQ(error_of("input 3 8 8\nconv 4 k=1 name=a\nadd in=a\n"),
            "bad.net:3: add: reads 1 value; it takes 2 or more");
  EXPECT_EQ(error_of("input 3 8 8\nconv 4 k=1 name=a\nconcat\n"),
            "bad.net:3: concat: needs at least 2 inputs, e.g. in=a,b (names of earlier layers, "
            "or 'input')");
  EXPECT_EQ(error_of("input 3 8 8\nrelu name=a\nconv 4 k=1 in=a,input\n"),
            "bad.net:3: conv: reads 2 values; it takes 1");
  EXPECT_EQ(error_of("input 3 8 8\nrelu in=b name=a\nrelu name=b\n"),
            "bad.net:2: relu: no earlier layer is named 'b' (a layer reads values written above "
            "it; the net input is 'input')");
  EXPECT_EQ(error_of("input 3 8 8\nrelu name=input\n"),
            "bad.net:2: relu: name 'input' is reserved for the net input");
  EXPECT_EQ(error_of("input 3 8 8\nrelu name=a,b\n"),
            "bad.net:2: relu: name 'a,b': names may not contain spaces, ',', '=' or '#' (they are "
            "read in lists)");
  EXPECT_EQ(error_of("input 3 8 8\nrelu in=input,\n"), "bad.net:2: relu: in=input,: an empty name");
  EXPECT_EQ(error_of("input 3 8 8\nrelu name=a\noutput a,nowhere\n"),
            "bad.net:3: output: no layer is named 'nowhere'");
  EXPECT_EQ(error_of("input 3 8 8\nconv 4 k=1 name=a\nconv 5 k=1 name=b\nadd in=a,b\n"),
            "bad.net:4: add 'add2' (layer 2): cannot add shapes 4x8x8 and 5x8x8; 'a' (layer 0) "
            "gives 4x8x8 and 'b' (layer 1) gives 5x8x8");
}

// The C++ builder writes the same graph as the file.
TEST(NetParser, GraphBuilderMatchesTheFile) {
  Net built{Shape{64, 56, 56}};
  built << conv(128, {.k = 3, .stride = 2, .pad = 1, .bias = false, .name = "conv1"})
        << batchnorm(1e-5f, 0.1f, "bn1") << relu("relu1")
        << conv(128, {.k = 3, .pad = 1, .bias = false, .name = "conv2"})
        << batchnorm(1e-5f, 0.1f, "bn2")
        << conv(128, {.k = 1, .stride = 2, .bias = false, .name = "proj"}).from({"input"})
        << batchnorm(1e-5f, 0.1f, "proj_bn") << add_of({"bn2", "proj_bn"}, "sum") << relu("out")
        << globalavgpool("gap") << fc(10, true, "fc") << loss(LossKind::softmax_xent);
  EXPECT_EQ(built.to_text(), load_net_file(net_path("resnet-block")).to_text());
}

TEST(NetParser, ErrorsNameFileLineAndRule) {
  EXPECT_EQ(error_of("input 3 8 8\nconv 6 k=0\n"),
            "bad.net:2: conv: k=0: kernel size must be at least 1");
  EXPECT_EQ(error_of("# comment\nconv 6 k=3\n"),
            "bad.net:2: found 'conv'; expected the first line to be 'input C H W'");
  EXPECT_EQ(error_of("input 3 8\n"), "bad.net:1: input: expected 3 numbers (input C H W), found 2");
  EXPECT_EQ(error_of("input 3 8 x\n"),
            "bad.net:1: input: 'x': expected a positive integer (input C H W)");
  EXPECT_EQ(error_of("input 3 8 8\nconvv 6\n").rfind("bad.net:2: unknown layer 'convv'; expected one of: conv,", 0), 0u);
  EXPECT_EQ(error_of("input 3 8 8\nconv 6 k=3 strde=2\n").rfind("bad.net:2: conv: unknown option 'strde'", 0), 0u);
  EXPECT_EQ(error_of("input 3 8 8\nconv six k=3\n"),
            "bad.net:2: conv: output channels 'six': expected an integer >= 1");
  EXPECT_EQ(error_of("input 3 8 8\nconv 6 k=3 k=5\n"), "bad.net:2: conv: option 'k' is given twice");
  EXPECT_EQ(error_of("input 3 8 8\ndropout p=1.5\n"),
            "bad.net:2: dropout: p=1.5: drop probability must be in [0, 1)");
  EXPECT_EQ(error_of("input 3 8 8\nrelu\nadd nowhere\n"),
            "bad.net:3: add: no earlier layer is named 'nowhere' (a layer reads values written "
            "above it; the net input is 'input')");
  EXPECT_EQ(error_of("input 3 8 8\nloss hinge\n"),
            "bad.net:2: loss: unknown kind 'hinge'; expected mse or softmax_xent");
  EXPECT_EQ(error_of("input 3 8 8\nloss mse\nrelu\n"), "bad.net:3: relu: layers cannot follow the loss");
  EXPECT_EQ(error_of("input 3 8 8\nrelu name=a\nrelu name=a\n"),
            "bad.net:3: relu: name 'a' is already used by layer 0");
  EXPECT_EQ(error_of("# nothing\n"), "bad.net: no 'input C H W' line: the file defines no net");
  EXPECT_EQ(error_of(""), "bad.net: no 'input C H W' line: the file defines no net");
  EXPECT_EQ(error_of("input 1 1 1\n"), "bad.net: the net has no layers");
  EXPECT_EQ(error_of("input 3 8 8\nconv 6 k=3 groups=4\n"),
            "bad.net:2: conv: groups=4: output channels 6 are not divisible by it");
}

TEST(NetParser, ShapeErrorsNameBothLayersAndShapes) {
  EXPECT_EQ(error_of("input 3 8 8\nconv 4 k=3 name=a\nconv 8 k=3 pad=1\nadd a\n"),
            "bad.net:4: add 'add2' (layer 2): cannot add shapes 8x6x6 and 4x6x6; 'conv1' (layer 1) "
            "gives 8x6x6 and 'a' (layer 0) gives 4x6x6");
  EXPECT_EQ(error_of("input 3 4 4\nconv 4 k=5\n"),
            "bad.net:2: conv 'conv0' (layer 0): a 5x5 kernel (dilation 1, pad 0) does not fit the "
            "input 3x4x4; the input gives 3x4x4");
  EXPECT_EQ(error_of("input 3 8 8\nmaxpool k=2\nmaxpool k=2\nmaxpool k=2\nmaxpool k=2\n"),
            "bad.net:5: maxpool 'maxpool3' (layer 3): a 2x2 window does not fit the input 3x1x1; "
            "'maxpool2' (layer 2) gives 3x1x1");
}

// Inputs the fuzzer (fuzz/fuzz_net_parser) found; each once crashed or overflowed.
TEST(NetParser, FuzzerFindingsAreCleanErrors) {
  EXPECT_EQ(error_of("input 1 28 22\navgpool k=299999999\n"),
            "bad.net:2: avgpool: k=299999999: windows larger than 16x16 are not supported");
}

TEST(NetParser, MissingFileIsAnIoError) {
  EXPECT_THROW((void)load_net_file("/nonexistent/x.net"), IoError);
}

TEST(NetParser, BinaryGarbageIsAParseErrorNotACrash) {
  std::string garbage;
  for (int i = 0; i < 2000; ++i) garbage += static_cast<char>((i * 131 + 7) % 256);
  EXPECT_THROW((void)parse_net(garbage, "garbage.net"), ParseError);
  EXPECT_THROW((void)parse_net("input 3 8 8\nconv 99999999999999999999 k=3\n", "big.net"), ParseError);
  EXPECT_THROW((void)parse_net("input 99999999 99999999 99999999\n", "big.net"), ParseError);
}

}  // namespace
}  // namespace footprint
