set terminal pngcairo size 1000,650
set output 'bench/results/coords/pareto-conv2.png'
set title 'LeNet-5 conv2 (MNIST): stored bits of the layer vs validation top-1'
set xlabel 'stored bits of conv2 weights (log)'
set ylabel 'validation top-1'
set logscale x
set key bottom right
set grid
plot 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'cgp-coords' ? $3 : 1/0):4 with points pt 7 ps 1.2 title 'cgp-coords', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'int8' ? $3 : 1/0):4 with points pt 7 ps 1.2 title 'int8', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'kmeans' ? $3 : 1/0):4 with points pt 7 ps 1.2 title 'kmeans', 'bench/results/coords/pareto-conv2.dat' using (strcol(1) eq 'requant' ? $3 : 1/0):4 with points pt 7 ps 1.2 title 'requant', 'bench/results/coords/pareto-conv2.front' using 3:4 with steps lw 1 lc rgb 'black' title 'joint Pareto front'
