// The one place stb's implementations are compiled (its headers are header-only libraries).
#define STB_IMAGE_IMPLEMENTATION
// PNG only: JPEG goes to libjpeg-turbo (src/io/image.cpp). Every other decoder would be attack
// surface nobody asked for, and stb's JPEG decoder (2.27 in Debian 12) writes past a Huffman
// table on crafted files: fuzz_image found it twice.
#define STBI_ONLY_PNG
#include <stb/stb_image.h>

// The writer, for save_image (PNG and JPEG) and for tests that make image files.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
