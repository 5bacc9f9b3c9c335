# Shared settings for blobswarm's own targets (not applied to dependencies).

add_library(blobswarm_options INTERFACE)
target_compile_options(blobswarm_options INTERFACE -Wall -Wextra -Werror -Wno-missing-field-initializers
  # Boost 1.74's asio/awaitable.hpp uses std::exchange without including
  # <utility>; include it first in every translation unit of ours.
  "SHELL:-include utility"
  # GCC 12 misreads Asio's coroutine-frame operator new/delete pair as
  # mismatched (a false positive in inlined awaitable frames).
  -Wno-mismatched-new-delete)
if(CMAKE_UNITY_BUILD)
  # In a unity build each .cpp is #included into one generated file, and
  # GCC then reports anonymous-namespace types used in its classes and
  # coroutine frames as if the .cpp were a header (-Wsubobject-linkage).
  # Each .cpp still has its own anonymous namespace in meaning; name clashes
  # between them are real errors and still fail the build.
  target_compile_options(blobswarm_options INTERFACE
    $<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
endif()
target_compile_definitions(blobswarm_options INTERFACE
  BLOBSWARM_VERSION="${PROJECT_VERSION}"
  # Asio: use std types where they exist and keep the executor type simple.
  BOOST_ASIO_NO_DEPRECATED
  BOOST_BEAST_USE_STD_STRING_VIEW)
# lld links the test binaries about 3x faster than ld.bfd (an ASan
# faults_test: 1.9 s instead of 6.5 s); used when installed.
include(CheckLinkerFlag)
check_linker_flag(CXX -fuse-ld=lld BLOBSWARM_HAVE_LLD)
if(BLOBSWARM_HAVE_LLD)
  target_link_options(blobswarm_options INTERFACE -fuse-ld=lld)
endif()
# Sanitizer reports need line tables, not local variables: -g1 instead of
# Debug's -g saves about a tenth of the compile time.
if(BLOBSWARM_ASAN)
  target_compile_options(blobswarm_options INTERFACE -g1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(blobswarm_options INTERFACE -fsanitize=address,undefined)
endif()
if(BLOBSWARM_FUZZ)
  # Libraries get coverage instrumentation; fuzz targets link the driver.
  target_compile_options(blobswarm_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_link_options(blobswarm_options INTERFACE -fsanitize=address,undefined)
endif()
if(BLOBSWARM_TSAN)
  # -Wno-tsan: GCC 12 warns that TSan does not model atomic_thread_fence,
  # which Boost.Asio's and libstdc++'s headers use; a note on TSan's
  # coverage of those headers, not a finding in our code.
  target_compile_options(blobswarm_options INTERFACE -g1 -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  target_link_options(blobswarm_options INTERFACE -fsanitize=thread)
endif()

# blobswarm_library(NAME SOURCES... DEPS ...)
function(blobswarm_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC blobswarm_options ${ARG_DEPS})
endfunction()

# blobswarm_executable(NAME SOURCES... DEPS ...)
function(blobswarm_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE blobswarm_options ${ARG_DEPS})
endfunction()
