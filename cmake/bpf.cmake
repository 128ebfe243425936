# SPDX-License-Identifier: Apache-2.0
# mizan_bpf_object(NAME SRC): compiles SRC with clang -target bpf against the
# vendored vmlinux.h of this architecture into bpf/NAME.bpf.o and generates
# the libbpf skeleton bpf/NAME.skel.h with bpftool. Target: NAME_skel.
find_program(CLANG_BPF NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

execute_process(COMMAND uname -m OUTPUT_VARIABLE _uname_m OUTPUT_STRIP_TRAILING_WHITESPACE)
if(_uname_m STREQUAL "x86_64")
  set(MIZAN_BPF_ARCH x86)
elseif(_uname_m STREQUAL "aarch64")
  set(MIZAN_BPF_ARCH arm64)
else()
  set(MIZAN_BPF_ARCH ${_uname_m})
endif()
set(MIZAN_VMLINUX_DIR ${CMAKE_SOURCE_DIR}/bpf/vmlinux/${MIZAN_BPF_ARCH})
if(NOT EXISTS ${MIZAN_VMLINUX_DIR}/vmlinux.h)
  message(FATAL_ERROR "no vmlinux.h for ${MIZAN_BPF_ARCH}: run scripts/gen-vmlinux.sh")
endif()

function(mizan_bpf_object name src)
  set(_out ${CMAKE_BINARY_DIR}/bpf)
  file(MAKE_DIRECTORY ${_out})
  file(GLOB_RECURSE _bpf_headers CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bpf/*.h)
  add_custom_command(
    OUTPUT ${_out}/${name}.bpf.o
    COMMAND ${CLANG_BPF} -g -O2 -target bpf -D__TARGET_ARCH_${MIZAN_BPF_ARCH}
            -Wall -Werror -Wno-unused-function
            -I${MIZAN_VMLINUX_DIR} -I${CMAKE_SOURCE_DIR}/bpf -I${CMAKE_SOURCE_DIR}
            -c ${src} -o ${_out}/${name}.bpf.o
    DEPENDS ${src} ${_bpf_headers}
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${_out}/${name}.skel.h
    COMMAND ${BPFTOOL} gen skeleton ${_out}/${name}.bpf.o name ${name} > ${_out}/${name}.skel.h
    DEPENDS ${_out}/${name}.bpf.o
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel DEPENDS ${_out}/${name}.skel.h)
endfunction()
