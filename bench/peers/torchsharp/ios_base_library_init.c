/* std::ios_base_library_init() for a libstdc++ older than GCC 13 (Debian 12), preloaded for
 * TorchSharp's libLibTorchSharp.so (see weaken-glibcxx.py). GCC 13's <iostream> only references
 * the symbol so that the library initialising the standard streams is linked; the older
 * libstdc++ initialises them itself (its own static ios_base::Init), and libtorch's objects run
 * their iostream initialisation as before, so an empty function is enough. */
void _ZSt21ios_base_library_initv(void) {}
