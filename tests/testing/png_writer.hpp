// stb's PNG writer for tests that need an image file. Include it from one file per test binary:
// it compiles stb's implementation there.
#pragma once

#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop
