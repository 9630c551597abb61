/*
 * The forwarding functions of src/dlmod/ (docs/internals/dlmod.md): each
 * file lists a library's functions once, as
 *   F(return type, name, (parameters), (arguments), value when not loaded)
 *   V(name, (parameters), (arguments))          for functions returning void
 *   S(name)             a slot only: the file defines the function itself
 * and these macros make from that list the slot numbers (FN_name), the
 * names to look up, and definitions that load the library on first use
 * (the file's `ready()`) and call through its slot (`fns`; QR_DL_SLOT reads
 * one as a typed function pointer).
 */
#ifndef QR_DLMOD_H
#define QR_DLMOD_H

#define QR_DL_ENUM_F(ret, name, params, args, fail) FN_##name,
#define QR_DL_ENUM_V(name, params, args) FN_##name,
#define QR_DL_NAME_F(ret, name, params, args, fail) #name,
#define QR_DL_NAME_V(name, params, args) #name,
#define QR_DL_ENUM_S(name) FN_##name,
#define QR_DL_NAME_S(name) #name,
#define QR_DL_DEF_S(name)
#define QR_DL_SLOT(type, name) ((type)fns[FN_##name])
#define QR_DL_DEF_F(ret, name, params, args, fail)                                                 \
    ret name params                                                                                \
    {                                                                                              \
        return ready() ? ((ret(*) params)fns[FN_##name])args : (fail);                             \
    }
#define QR_DL_DEF_V(name, params, args)                                                            \
    void name params                                                                               \
    {                                                                                              \
        if (ready())                                                                               \
            ((void(*) params)fns[FN_##name]) args;                                                 \
    }

#endif
