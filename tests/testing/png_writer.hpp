// stb's image writer (stbi_write_png and friends) for tests that need an image file made by
// other code than save_image. The library compiles its implementation (src/io/stb_implementation.cpp).
#pragma once

#include <stb/stb_image_write.h>
