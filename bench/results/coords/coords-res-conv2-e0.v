// Verilog-2001 of an evolved cgpc circuit, written by `cgpc circuit export`
// source: /tmp/coords-runs/coords-res-conv2/best.0.0.chr
// seed: 1, run 0
// error: 1768.2370833333334 (mse, threshold reached)
// 4 inputs, 1 outputs, 5 active nodes of 512 (grid 8x64)
// semantics: int8 two's complement, wrap-around; >> arithmetic; << drops high
// bits; mul keeps the low byte; mux2/mux4 pass input (item mod 2 / item mod 4)
`default_nettype none
module coords_res_conv2_e0 (
    input  wire signed [7:0] i0, // coordinate o mod 128 (output channel) (unused)
    input  wire signed [7:0] i1, // coordinate i mod 128 (input channel)
    input  wire signed [7:0] i2, // coordinate ky (kernel row) (unused)
    input  wire signed [7:0] i3, // coordinate kx (kernel column)
    output wire signed [7:0] o0 // conv2.weight[*,*,*,*]
);
    wire signed [7:0] n2_sub = i3 - i1;
    wire signed [7:0] n13_dec = i3 - 8'sd1;
    wire signed [7:0] n18_shr1 = n13_dec >>> 1;
    wire signed [7:0] n38_add = n2_sub + n18_shr1;
    wire signed [7:0] n388_shr2 = n38_add >>> 2;
    assign o0 = n388_shr2;
endmodule
`default_nettype wire
