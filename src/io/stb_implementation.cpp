// The one place stb's implementations are compiled (its headers are header-only libraries).
#define STB_IMAGE_IMPLEMENTATION
// PNG only. Every other decoder would be attack surface nobody asked for, and JPEG's (stb 2.27
// in Debian 12) writes past a Huffman table on crafted files: fuzz_image found it twice.
#define STBI_ONLY_PNG
#include <stb/stb_image.h>
