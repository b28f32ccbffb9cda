// Verilog-2001 of an evolved cgpc circuit, written by `cgpc circuit export`
// source: /tmp/coords-runs/conv2-10min/best.0.64.chr
// seed: 1, run 0
// error: 1545.2458333333334 (mse, threshold not reached)
// 4 inputs, 1 outputs, 116 active nodes of 512 (grid 8x64)
// semantics: int8 two's complement, wrap-around; >> arithmetic; << drops high
// bits; mul keeps the low byte; mux2/mux4 pass input (item mod 2 / item mod 4)
`default_nettype none
module coords_conv2 (
    input  wire signed [7:0] i0, // coordinate o mod 128 (output channel)
    input  wire signed [7:0] i1, // coordinate i mod 128 (input channel)
    input  wire signed [7:0] i2, // coordinate ky (kernel row)
    input  wire signed [7:0] i3, // coordinate kx (kernel column)
    output wire signed [7:0] o0 // conv2.weight[*,*,*,*]
);
    wire signed [7:0] n0_xor = i1 ^ i2;
    wire signed [7:0] n1_shr2 = i1 >>> 2;
    wire signed [7:0] n2_add = i1 + i0;
    wire signed [7:0] n3_shl1 = i1 << 1;
    wire signed [7:0] n4_shl4 = i1 << 4;
    wire signed [7:0] n5_not = ~i3;
    wire signed [7:0] n6_shl3 = i1 << 3;
    wire signed [7:0] n7_rsub127 = 8'sd127 - i0;
    wire signed [7:0] n8_shl2 = i1 << 2;
    wire signed [7:0] n9_dec = n2_add - 8'sd1;
    wire signed [7:0] n10_sub = n0_xor - i3;
    wire signed [7:0] n11_rsub127 = 8'sd127 - n6_shl3;
    wire signed [7:0] n12_xor = n7_rsub127 ^ n4_shl4;
    wire signed [7:0] n13_mul = n0_xor * n4_shl4;
    wire signed [7:0] n14_sub = n1_shr2 - n5_not;
    wire signed [7:0] n15_xor = n1_shr2 ^ i2;
    wire signed [7:0] n16_shl1 = n11_rsub127 << 1;
    wire signed [7:0] n17_and = n9_dec & n7_rsub127;
    wire signed [7:0] n18_dec = n15_xor - 8'sd1;
    wire signed [7:0] n19_or = n8_shl2 | n12_xor;
    wire signed [7:0] n20_and = n12_xor & n10_sub;
    wire signed [7:0] n21_mul = n15_xor * n14_sub;
    wire signed [7:0] n22_dec = n3_shl1 - 8'sd1;
    wire signed [7:0] n23_shl4 = n12_xor << 4;
    wire signed [7:0] n24_add = i3 + n22_dec;
    wire signed [7:0] n25_mul = n15_xor * n18_dec;
    wire signed [7:0] n26_sub = n2_add - n3_shl1;
    wire signed [7:0] n27_shr1 = n7_rsub127 >>> 1;
    wire signed [7:0] n28_and = n9_dec & n2_add;
    wire signed [7:0] n29_shl5 = n15_xor << 5;
    wire signed [7:0] n30_shr2 = n20_and >>> 2;
    wire signed [7:0] n31_neg = -i3;
    wire signed [7:0] n32_or = i1 | n2_add;
    wire signed [7:0] n33_or = n22_dec | n13_mul;
    wire signed [7:0] n34_and = n10_sub & n29_shl5;
    wire signed [7:0] n35_sub = i0 - n25_mul;
    wire signed [7:0] n36_or = n30_shr2 | n5_not;
    wire signed [7:0] n37_shr4 = n22_dec >>> 4;
    wire signed [7:0] n38_sub = n19_or - n28_and;
    wire signed [7:0] n40_add = n2_add + n1_shr2;
    wire signed [7:0] n41_sub = n27_shr1 - n9_dec;
    wire signed [7:0] n43_xor = n28_and ^ n36_or;
    wire signed [7:0] n44_not = ~n33_or;
    wire signed [7:0] n45_dec = n5_not - 8'sd1;
    wire signed [7:0] n46_shl1 = n33_or << 1;
    wire signed [7:0] n47_mul = n37_shr4 * n36_or;
    wire signed [7:0] n48_shl4 = n43_xor << 4;
    wire signed [7:0] n50_and = n32_or & i2;
    wire signed [7:0] n51_sub = n31_neg - n1_shr2;
    wire signed [7:0] n52_shl5 = n28_and << 5;
    wire signed [7:0] n53_add = n46_shl1 + n34_and;
    wire signed [7:0] n54_xor = n44_not ^ n17_and;
    wire signed [7:0] n55_mul = n37_shr4 * n35_sub;
    wire signed [7:0] n57_xor = n54_xor ^ n16_shl1;
    wire signed [7:0] n59_xor = n50_and ^ n17_and;
    wire signed [7:0] n60_shr4 = n21_mul >>> 4;
    wire signed [7:0] n61_const1 = 8'sh01;
    wire signed [7:0] n62_add = n47_mul + n26_sub;
    wire signed [7:0] n63_and = n51_sub & i1;
    wire signed [7:0] n64_shr4 = n48_shl4 >>> 4;
    wire signed [7:0] n65_or = n2_add | n22_dec;
    wire signed [7:0] n66_or = n18_dec | n24_add;
    wire signed [7:0] n67_xor = n40_add ^ n38_sub;
    wire signed [7:0] n68_add = n23_shl4 + n57_xor;
    wire signed [7:0] n69_or = n41_sub | n45_dec;
    wire signed [7:0] n70_add = n53_add + i3;
    wire signed [7:0] n71_shr3 = n62_add >>> 3;
    wire signed [7:0] n72_and = n59_xor & n63_and;
    wire signed [7:0] n73_shr3 = n64_shr4 >>> 3;
    wire signed [7:0] n74_and = n30_shr2 & n59_xor;
    wire signed [7:0] n76_sub = n71_shr3 - n60_shr4;
    wire signed [7:0] n77_or = n65_or | n69_or;
    wire signed [7:0] n78_shr3 = n70_add >>> 3;
    wire signed [7:0] n80_or = n76_sub | n53_add;
    wire signed [7:0] n81_shr4 = n66_or >>> 4;
    wire signed [7:0] n82_xor = n1_shr2 ^ n72_and;
    wire signed [7:0] n86_shr3 = n35_sub >>> 3;
    wire signed [7:0] n87_add = n67_xor + n51_sub;
    wire signed [7:0] n88_or = n78_shr3 | n52_shl5;
    wire signed [7:0] n89_shr1 = n59_xor >>> 1;
    wire signed [7:0] n92_not = ~n63_and;
    wire signed [7:0] n94_shr2 = n86_shr3 >>> 2;
    wire signed [7:0] n95_add = n76_sub + n81_shr4;
    wire signed [7:0] n96_sub = n68_add - n88_or;
    wire signed [7:0] n97_or = n68_add | n74_and;
    wire signed [7:0] n99_xor = n82_xor ^ n76_sub;
    wire signed [7:0] n102_and = n73_shr3 & n55_mul;
    wire signed [7:0] n104_and = n80_or & n99_xor;
    wire signed [7:0] n106_add = n95_add + n97_or;
    wire signed [7:0] n109_sub128 = n73_shr3 ^ 8'sh80;
    wire signed [7:0] n111_or = n65_or | n92_not;
    wire signed [7:0] n115_or = n106_add | n89_shr1;
    wire signed [7:0] n118_shr5 = n87_add >>> 5;
    wire signed [7:0] n121_add = n64_shr4 + n104_and;
    wire signed [7:0] n124_add = n47_mul + n118_shr5;
    wire signed [7:0] n132_sub = n102_and - n77_or;
    wire signed [7:0] n140_xor = i2 ^ n111_or;
    wire signed [7:0] n147_shl1 = n61_const1 << 1;
    wire signed [7:0] n153_sub = i1 - n17_and;
    wire signed [7:0] n156_mul = n132_sub * n109_sub128;
    wire signed [7:0] n167_sub = n140_xor - n124_add;
    wire signed [7:0] n168_add = n94_shr2 + n153_sub;
    wire signed [7:0] n170_inc = n156_mul + 8'sd1;
    wire signed [7:0] n176_dec = n60_shr4 - 8'sd1;
    wire signed [7:0] n198_and = n104_and & n168_add;
    wire signed [7:0] n199_or = n115_or | n167_sub;
    wire signed [7:0] n202_and = n121_add & n198_and;
    wire signed [7:0] n211_sub = n202_and - n132_sub;
    wire signed [7:0] n236_shl1 = n199_or << 1;
    wire signed [7:0] n251_mul = n147_shl1 * n236_shl1;
    wire signed [7:0] n252_shr3 = n96_sub >>> 3;
    wire signed [7:0] n265_mul = n211_sub * n176_dec;
    wire signed [7:0] n272_shr4 = n170_inc >>> 4;
    wire signed [7:0] n284_sub = n251_mul - n272_shr4;
    wire signed [7:0] n299_xor = n252_shr3 ^ n265_mul;
    wire signed [7:0] n311_add = n299_xor + n284_sub;
    assign o0 = n311_add;
endmodule
`default_nettype wire
