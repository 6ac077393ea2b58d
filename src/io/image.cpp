// Image loading, saving and preprocessing. PNG is decoded by stb, JPEG by libjpeg-turbo; both
// are written by stb_image_write. Resizing is our own (src/data/sample_transform.hpp):
// stb_image_resize's filter arithmetic overflowed on extreme size ratios under the fuzzer.
#include "footprint/image.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared before it
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>

#include <jerror.h>
#include <jpeglib.h>
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include "footprint/error.hpp"
#include "data/sample_transform.hpp"
#include "io/atomic_file.hpp"

namespace footprint {

namespace {

constexpr unsigned char kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr unsigned char kJpegSignature[3] = {0xff, 0xd8, 0xff};  // SOI, then any marker

template <size_t N>
bool starts_with(const std::vector<unsigned char>& bytes, const unsigned char (&signature)[N]) {
  return bytes.size() >= N && std::equal(signature, signature + N, bytes.begin());
}

std::vector<unsigned char> read_all(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw IoError(path + ": cannot open the image");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() > (size_t{1} << 30)) throw IoError(path + ": more than 1 GiB; not an image we read");
  return bytes;
}

// From the header alone, before anything is decoded: a 100000 x 100000 image is refused cheaply.
void check_pixel_count(const std::string& path, int64_t width, int64_t height, int64_t max_pixels) {
  if (width < 1 || height < 1) {
    throw IoError(path + ": the image is " + std::to_string(width) + "x" + std::to_string(height) +
                  " pixels; expected at least 1x1");
  }
  const int64_t pixels = width * height;
  if (pixels > max_pixels) {
    throw IoError(path + ": " + std::to_string(width) + "x" + std::to_string(height) + " = " +
                  std::to_string(pixels) + " pixels, more than the limit of " +
                  std::to_string(max_pixels) + " (--max-pixels raises it)");
  }
}

// stb sizes its buffers from PNG chunk lengths before reading them, so a 100-byte file whose
// IDAT claims 2 GiB would allocate 2 GiB (found by fuzz_image). Every chunk must fit in the file.
void check_png_chunks(const std::string& path, const std::vector<unsigned char>& bytes) {
  size_t at = 8;
  while (at + 8 <= bytes.size()) {
    const uint64_t length = (uint64_t{bytes[at]} << 24) | (uint64_t{bytes[at + 1]} << 16) |
                            (uint64_t{bytes[at + 2]} << 8) | bytes[at + 3];
    const std::string type(bytes.begin() + static_cast<std::ptrdiff_t>(at + 4),
                           bytes.begin() + static_cast<std::ptrdiff_t>(at + 8));
    if (at + 12 + length > bytes.size()) {
      throw IoError(path + ": PNG chunk '" + type + "' claims " + std::to_string(length) +
                    " bytes, the file has " + std::to_string(bytes.size() - at - 8) +
                    " left (truncated or corrupt file?)");
    }
    if (type == "IEND") return;
    at += 12 + length;
  }
}

Image decode_png(const std::string& path, const std::vector<unsigned char>& bytes, int channels,
                 int64_t max_pixels) {
  check_png_chunks(path, bytes);
  const int n_bytes = static_cast<int>(bytes.size());
  int width = 0, height = 0, stored_channels = 0;
  if (!stbi_info_from_memory(bytes.data(), n_bytes, &width, &height, &stored_channels)) {
    throw IoError(path + ": not a readable PNG image (" + std::string(stbi_failure_reason()) + ")");
  }
  check_pixel_count(path, width, height, max_pixels);
  int w = 0, h = 0, n = 0;
  stbi_uc* data = stbi_load_from_memory(bytes.data(), n_bytes, &w, &h, &n, channels);
  if (data == nullptr) {
    throw IoError(path + ": cannot decode the PNG image (" + stbi_failure_reason() + ")");
  }
  Image image{.width = w, .height = h, .channels = channels};
  image.pixels.assign(data, data + int64_t{w} * h * channels);
  stbi_image_free(data);
  return image;
}

// libjpeg-turbo's advice for its own scan limit (TJPARAM_SCANLIMIT): real progressive files
// have about 10 scans, while a crafted one can repeat cheap scans over the whole image for minutes.
constexpr int kMaxJpegScans = 500;

// libjpeg reports errors through error_exit, which must not return: ours keeps the message and
// longjmps back to decode_jpeg's setjmp.
struct JpegErrors {
  jpeg_error_mgr mgr;  // first, so the jpeg_error_mgr* libjpeg passes around points at us
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_error_exit(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings would go to stderr, and the library prints nothing. A file that ends early decodes
// with grey where the data is missing: refused, rather than half an image fed to a net. Other
// warnings (a stray byte before a marker, common in real photos) leave the pixels usable.
void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_error_exit(cinfo);
}

void jpeg_limit_scans(j_common_ptr cinfo) {
  if (reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number > kMaxJpegScans) {
    auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
    std::snprintf(errors->message, sizeof errors->message, "more than %d progressive scans", kMaxJpegScans);
    std::longjmp(errors->jump, 1);
  }
}

// Runs libjpeg calls; false if libjpeg reported an error, which longjmps back here. Only this
// frame, the call's and libjpeg's C frames lie between setjmp and longjmp, and none holds an
// object with a destructor, so nothing is skipped and no local of ours is left indeterminate.
template <typename Call>
bool libjpeg_succeeds(std::jmp_buf& jump, const Call& call) {
  if (setjmp(jump) != 0) return false;
  call();
  return true;
}

// Owns the decompressor, so it is destroyed on every path out of decode_jpeg. Destroying one
// that was never created, or whose creation failed, is harmless: libjpeg checks cinfo.mem.
struct JpegDecompressor {
  jpeg_decompress_struct cinfo{};
  ~JpegDecompressor() { jpeg_destroy_decompress(&cinfo); }
};

Image decode_jpeg(const std::string& path, const std::vector<unsigned char>& bytes, int channels,
                  int64_t max_pixels) {
  JpegErrors errors{};
  jpeg_progress_mgr progress{};
  JpegDecompressor decompressor;
  jpeg_decompress_struct& cinfo = decompressor.cinfo;
  cinfo.err = jpeg_std_error(&errors.mgr);
  errors.mgr.error_exit = jpeg_error_exit;
  errors.mgr.emit_message = jpeg_emit_message;
  progress.progress_monitor = jpeg_limit_scans;
  auto run = [&](const auto& call) {
    if (libjpeg_succeeds(errors.jump, call)) return;
    std::string hint;
    if (errors.mgr.msg_code == JWRN_JPEG_EOF) hint = " (truncated file?)";
    if (errors.mgr.msg_code == JERR_NO_BACKING_STORE) hint = " (it needs more memory than max_pixels allows)";
    throw IoError(path + ": cannot decode the JPEG image (" + errors.message + ")" + hint);
  };

  run([&] {
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, bytes.data(), bytes.size());
    jpeg_read_header(&cinfo, TRUE);
  });
  check_pixel_count(path, cinfo.image_width, cinfo.image_height, max_pixels);
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      throw IoError(path + ": a CMYK JPEG; only greyscale and colour (YCbCr or RGB) JPEGs are read "
                    "(convert it to RGB first)");
    default:
      throw IoError(path + ": a JPEG with " + std::to_string(cinfo.num_components) +
                    " components of unknown colour space; expected greyscale or colour");
  }
  // libjpeg converts between grey and colour itself.
  cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  // Progressive files keep every DCT coefficient until the last scan: 2 bytes a sample and at
  // most 3 components (checked above), so about 6 bytes a pixel. The cap keeps libjpeg's big
  // buffers in proportion to max_pixels should a header get past the checks above.
  constexpr int64_t kBytesPerPixel = 8, kSlackBytes = int64_t{16} << 20;
  if (max_pixels < (LONG_MAX - kSlackBytes) / kBytesPerPixel) {
    cinfo.mem->max_memory_to_use = static_cast<long>(max_pixels * kBytesPerPixel + kSlackBytes);
  }
  run([&] { jpeg_start_decompress(&cinfo); });

  Image image{.width = cinfo.output_width, .height = cinfo.output_height, .channels = cinfo.output_components};
  image.pixels.resize(static_cast<size_t>(image.width * image.height * image.channels));
  run([&] {
    while (cinfo.output_scanline < cinfo.output_height) {
      JSAMPROW row = image.pixels.data() + int64_t{cinfo.output_scanline} * image.width * image.channels;
      jpeg_read_scanlines(&cinfo, &row, 1);
    }
  });
  // No jpeg_finish_decompress: it would only read on to the end marker, and a file whose pixels
  // are all there but whose last two bytes are missing is not worth refusing.
  return image;
}

bool has_jpeg_extension(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return extension == ".jpg" || extension == ".jpeg";
}

}  // namespace

Image load_image(const std::string& path, int channels, int64_t max_pixels) {
  if (channels != 1 && channels != 3) {
    throw Error("loading image " + path + " with " + std::to_string(channels) +
                " channels: images give 1 (grey) or 3 (RGB)");
  }
  const std::vector<unsigned char> bytes = read_all(path);
  if (starts_with(bytes, kPngSignature)) return decode_png(path, bytes, channels, max_pixels);
  if (starts_with(bytes, kJpegSignature)) return decode_jpeg(path, bytes, channels, max_pixels);
  throw IoError(path + ": not a PNG or JPEG image (the file starts with neither signature)");
}

void save_image(const std::string& path, const Image& image) {
  auto fail = [&](const std::string& why) { throw IoError("saving image " + path + ": " + why); };
  if (image.channels != 1 && image.channels != 3) {
    fail(std::to_string(image.channels) + " channels; expected 1 (grey) or 3 (RGB)");
  }
  if (image.width < 1 || image.height < 1) {
    fail(std::to_string(image.width) + "x" + std::to_string(image.height) + " pixels; expected at least 1x1");
  }
  const int64_t n_bytes = image.width * image.height * image.channels;
  if (static_cast<int64_t>(image.pixels.size()) != n_bytes) {
    fail(std::to_string(image.width) + "x" + std::to_string(image.height) + "x" +
         std::to_string(image.channels) + " needs " + std::to_string(n_bytes) + " bytes, pixels has " +
         std::to_string(image.pixels.size()));
  }
  // stb_image_write counts bytes in int; half of INT_MAX leaves room for its deflate's buffers.
  if (n_bytes > (int64_t{1} << 29)) fail("more than 512 MiB of pixels; not an image we write");
  const bool jpeg = has_jpeg_extension(path);
  if (jpeg && std::max(image.width, image.height) > 65535) {
    fail(std::to_string(image.width) + "x" + std::to_string(image.height) +
         " pixels; JPEG holds at most 65535 a side (save it as .png)");
  }

  // stb hands the encoded file to this callback, in pieces for JPEG.
  struct Sink {
    std::vector<unsigned char> bytes;
    bool out_of_memory = false;  // an exception must not cross stb, which would leak its buffers
  } sink;
  auto append = [](void* context, void* data, int n) {
    auto* s = static_cast<Sink*>(context);
    try {
      s->bytes.insert(s->bytes.end(), static_cast<unsigned char*>(data), static_cast<unsigned char*>(data) + n);
    } catch (const std::bad_alloc&) {
      s->out_of_memory = true;
    }
  };
  const int w = static_cast<int>(image.width), h = static_cast<int>(image.height);
  const int c = static_cast<int>(image.channels);
  const int ok = jpeg ? stbi_write_jpg_to_func(append, &sink, w, h, c, image.pixels.data(), /*quality=*/95)
                      : stbi_write_png_to_func(append, &sink, w, h, c, image.pixels.data(), w * c);
  if (!ok || sink.out_of_memory) fail(std::string("cannot encode the ") + (jpeg ? "JPEG" : "PNG") + " (out of memory?)");
  write_file_atomically(path, std::as_bytes(std::span(sink.bytes)), "saving image");
}

void image_to_input(const Image& image, const Shape& input, const ImagePreprocess& pre, float* dst) {
  TransformScratch scratch;
  transform_image(image, input, sample_geometry(image.width, image.height, input, {}, 0), pre, dst,
                  scratch);
}

}  // namespace footprint
