// Verilog-2001 of an evolved cgpc circuit, written by `cgpc circuit export`
// source: /tmp/coords-runs/coords-res-conv1/best.0.2.chr
// seed: 1, run 0
// error: 5199.0200000000004 (mse, threshold reached)
// 4 inputs, 1 outputs, 0 active nodes of 512 (grid 8x64)
// semantics: int8 two's complement, wrap-around; >> arithmetic; << drops high
// bits; mul keeps the low byte; mux2/mux4 pass input (item mod 2 / item mod 4)
`default_nettype none
module coords_res_conv1_e2 (
    input  wire signed [7:0] i0, // coordinate o mod 128 (output channel)
    input  wire signed [7:0] i1, // coordinate i mod 128 (input channel) (unused)
    input  wire signed [7:0] i2, // coordinate ky (kernel row) (unused)
    input  wire signed [7:0] i3, // coordinate kx (kernel column) (unused)
    output wire signed [7:0] o0 // conv1.weight[*,0,*,*]
);
    assign o0 = i0;
endmodule
`default_nettype wire
