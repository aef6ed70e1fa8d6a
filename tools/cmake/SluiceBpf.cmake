# sluice_bpf_object(NAME <n> SRC <file.bpf.c> HDRS <headers...>)
#   clang -target bpf → ${CMAKE_CURRENT_BINARY_DIR}/<n>.bpf.o
#   bpftool gen skeleton → ${CMAKE_CURRENT_BINARY_DIR}/<n>.skel.h (struct <n>_bpf, <n>_bpf__open/...)
#   INTERFACE target sluice_skel_<n>: the skeleton's include dir + libbpf, for whoever loads it.
# Generated files live only in the build dir (style rule 10).
find_program(SLUICE_BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(SLUICE_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

# Debian's UAPI headers put <asm/types.h> under the multiarch directory, which -target bpf does not search.
if(CMAKE_LIBRARY_ARCHITECTURE)
  set(SLUICE_BPF_MULTIARCH ${CMAKE_LIBRARY_ARCHITECTURE})
else()
  execute_process(COMMAND gcc -dumpmachine OUTPUT_VARIABLE SLUICE_BPF_MULTIARCH
                  OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
endif()

# Cilium's warning set, minus what clang 14 lacks. -mcpu=v3: 32-bit jumps and atomic fetch-add (the
# round-robin cursor and sl_conns_v1 counts use it); every kernel Sluice supports (>= 5.10) has it.
set(SLUICE_BPF_CFLAGS
    -g -O2 -target bpf -mcpu=v3 -std=gnu11
    -Wall -Wextra -Werror -Wshadow -Wimplicit-int-conversion -Wenum-conversion
    -Wimplicit-fallthrough -Wno-address-of-packed-member -Wno-unknown-warning-option
    -Wno-gnu-variable-sized-type-not-at-end -Wdeclaration-after-statement
    -I${PROJECT_SOURCE_DIR}/bpf -I/usr/include/${SLUICE_BPF_MULTIARCH})

function(sluice_bpf_object)
  cmake_parse_arguments(B "" "NAME;SRC" "HDRS" ${ARGN})
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${B_NAME}.bpf.o)
  set(skel ${CMAKE_CURRENT_BINARY_DIR}/${B_NAME}.skel.h)
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/${B_SRC})
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${SLUICE_BPF_CLANG} ${SLUICE_BPF_CFLAGS} -MD -MF ${obj}.d -c ${src} -o ${obj}
    DEPENDS ${src} ${B_HDRS}
    DEPFILE ${obj}.d
    COMMENT "[bpf] ${B_NAME}.bpf.o"
    VERBATIM)
  # Write to a temporary and rename, so a failed bpftool never leaves a truncated header behind.
  add_custom_command(
    OUTPUT ${skel}
    COMMAND sh -c "${SLUICE_BPFTOOL} gen skeleton ${obj} > ${skel}.tmp && mv ${skel}.tmp ${skel}"
    DEPENDS ${obj}
    COMMENT "[skel] ${B_NAME}.skel.h"
    VERBATIM)
  add_custom_target(sluice_bpf_${B_NAME} DEPENDS ${obj} ${skel})
  add_library(sluice_skel_${B_NAME} INTERFACE)
  add_dependencies(sluice_skel_${B_NAME} sluice_bpf_${B_NAME})
  target_include_directories(sluice_skel_${B_NAME} INTERFACE ${CMAKE_CURRENT_BINARY_DIR}
                                                             ${PROJECT_SOURCE_DIR}/bpf/abi)
  target_link_libraries(sluice_skel_${B_NAME} INTERFACE PkgConfig::LIBBPF)
  set_property(GLOBAL PROPERTY SLUICE_BPF_OBJECT_${B_NAME} ${obj})
endfunction()
