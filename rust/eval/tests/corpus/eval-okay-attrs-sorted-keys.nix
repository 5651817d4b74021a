{ zeta = 1; alpha = 2; Beta = 3; _u = 4; "1num" = 5; "a-b" = 6; "a'" = 7; }
