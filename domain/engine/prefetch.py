"""``prefetch_nb(array, i)``: a hint to the CPU to bring ``array[i]`` into its caches.

LLVM's ``llvm.prefetch`` intrinsic (read access, high locality, data cache), compiled into the
calling numba kernel as one ``prefetcht0`` instruction. It never faults and never changes a
result: an index outside the array is clamped to its bounds, and an empty array is skipped.

The simulation kernel uses it for ``open[j]`` of the bar where an order fills: the kernel skips
through quiet bars reading only ``close`` and the signals, so without a hint those opens are
cache misses on long series (the arrays of a 1,000,000-bar run do not stay in cache between
its passes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def _prefetch(typingctx: Any, array: Any, index: Any) -> Any:
    """Prefetch the cache line holding ``array[index]`` (1-D array, integer index)."""
    if not isinstance(array, types.Array) or array.ndim != 1 or not isinstance(
            index, types.Integer):
        return None
    sig = types.void(array, index)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        n = builder.extract_value(ary.shape, 0)
        idx = context.cast(builder, args[1], idxty, types.intp)
        zero = ir.Constant(n.type, 0)
        last = builder.sub(n, ir.Constant(n.type, 1))
        idx = builder.select(builder.icmp_signed(">", idx, last), last, idx)
        idx = builder.select(builder.icmp_signed("<", idx, zero), zero, idx)
        with builder.if_then(builder.icmp_signed(">", n, zero)):
            ptr = builder.gep(ary.data, [idx])
            voidptr = cgutils.voidptr_t
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [voidptr, i32, i32, i32])
            fn = builder.module.declare_intrinsic("llvm.prefetch", [voidptr], fnty)
            # read (0), high temporal locality (3), data cache (1)
            builder.call(fn, [builder.bitcast(ptr, voidptr), ir.Constant(i32, 0),
                              ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


# the intrinsic, typed as kernels call it (``prefetch_nb(array, i)``) rather than as numba
# declares it (with the typing context first)
prefetch_nb = cast("Callable[[Any, int], None]", _prefetch)

__all__ = ["prefetch_nb"]
