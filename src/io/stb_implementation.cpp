// The one place stb's implementations are compiled (its headers are header-only libraries).
#define STB_IMAGE_IMPLEMENTATION
// PNG and JPEG only: every other decoder stb carries would be attack surface nobody asked for.
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#include <stb/stb_image.h>
