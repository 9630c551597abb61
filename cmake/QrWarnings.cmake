# Strict warnings for every quire target (STYLE.md "Format and comments").
function(qr_set_warnings target)
    target_compile_options(${target} PRIVATE
        -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
        -Wpointer-arith -Wcast-qual -Wundef)
    if(QR_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
